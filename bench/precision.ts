/**
 * Reduced-precision plans against float32, measured in the same run (one session alive at a time, one thread,
 * spinning off): per model, EP and mode, the original's median latency over the reduced plan's, the float32 plan's
 * over the reduced plan's, the file size ratio to the original and each output's cosine similarity and max error
 * relative to the output's magnitude, against the float32 plan.
 *
 *   node dist/bench/precision.js [--ep cpu,wasm] [--modes int8,int4,fp16,fp16-compute] [--runs 10] [--zoo] [--markdown] [model.onnx ...]
 * `--zoo` takes every zoo model; `--markdown` ends with the rows as a table (the README's). Without models it takes
 * the BERT-base-sized encoder (exported into models/.cache/large on first use) and the zoo
 * UNet and VAE decoder; inputs are each model's tensor bundle. `fp16` is what `--precision fp16` gives on cpu and
 * wasm (float16 storage); `fp16-compute` forces float16 compute there (`--fp16 compute`), to show why it is not the
 * default on those EPs.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelFile } from '../src/frontend/onnx/node-fs.js';
import { compileForOrt, type OrtCompileOptions } from '../src/backends/ort/compile.js';
import { concatChunks, encodeModelBytes } from '../src/frontend/onnx/index.js';
import { benchModels } from '../src/backends/ort/bench.js';
import { measureAccuracy } from '../src/backends/ort/accuracy.js';
import { parseBundle } from '../src/ir/bundle.js';
import type { Ep } from '../src/backends/ort/session.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : dflt;
}

const zoo = process.env.MSGRAPH_ZOO ?? path.join(root, 'models/.cache/zoo');

function defaults(): string[] {
  const large = path.join(root, 'models/.cache/large/bert_base.onnx');
  if (!fs.existsSync(large)) execFileSync('/usr/bin/python3', [path.join(root, 'models/zoo/export.py'), path.dirname(large), '--large', '--only', 'bert_base'], { stdio: 'inherit' });
  return [large, ...['unet', 'vae_decoder'].map((n) => path.join(zoo, `${n}.onnx`)).filter((f) => fs.existsSync(f))];
}

const MODES: Record<string, Pick<OrtCompileOptions, 'precision' | 'fp16'>> = {
  int8: { precision: 'int8' },
  int4: { precision: 'int4' },
  fp16: { precision: 'fp16', fp16: 'storage' },
  'fp16-compute': { precision: 'fp16', fp16: 'compute' },
};

async function main(): Promise<void> {
  const eps = arg('--ep', 'cpu,wasm').split(',') as Ep[];
  const modes = arg('--modes', 'int8,int4,fp16,fp16-compute').split(',');
  for (const m of modes) if (!MODES[m]) throw new Error(`unknown mode ${m}: one of ${Object.keys(MODES).join(', ')}`);
  const runs = Number(arg('--runs', '10'));
  const files = process.argv.slice(2).filter((a, i, all) => a.endsWith('.onnx') && !['--ep', '--runs', '--modes'].includes(all[i - 1]!));
  const models = files.length ? files : process.argv.includes('--zoo') ? fs.readdirSync(zoo).filter((f) => f.endsWith('.onnx')).sort().map((f) => path.join(zoo, f)) : defaults();
  const rows: string[] = [];
  console.log(`reduced precision vs float32, ${runs} runs each, medians (ratios above 1: the reduced plan is faster)`);
  for (const file of models) {
    const bundle = file.replace(/\.onnx$/, '.io.json');
    const feeds = parseBundle(fs.readFileSync(bundle, 'utf8')).inputs;
    const original = new Uint8Array(fs.readFileSync(file));
    for (const ep of eps) {
      const fp32 = concatChunks(encodeModelBytes(compileForOrt(loadModelFile(file), { ep }).model).chunks);
      for (const mode of modes) {
        const q = compileForOrt(loadModelFile(file), { ep, ...MODES[mode] });
        const reduced = concatChunks(encodeModelBytes(q.model).chunks);
        const vsOriginal = await benchModels(original, reduced, feeds, { ep, runs, warmup: 2 });
        const vsPlan = await benchModels(fp32, reduced, feeds, { ep, runs, warmup: 2 });
        const acc = await measureAccuracy(fp32, reduced, feeds, ep);
        const worst = acc.reduce((w, a) => (a.cosine < w.cosine ? a : w), acc[0]!);
        rows.push(`| ${path.basename(file, '.onnx')} | ${ep} | ${mode} | ${vsPlan.speedup.toFixed(2)}x | ${(reduced.length / original.length).toFixed(2)}x | ${worst.cosine.toFixed(5)} | ${Math.max(...acc.map((a) => a.max_rel)).toExponential(1)} |`);
        console.log(`  ${path.basename(file, '.onnx').padEnd(12)} ${ep.padEnd(5)} ${mode.padEnd(12)} vs original ${vsOriginal.speedup.toFixed(2)}x, vs fp32 plan ${vsPlan.speedup.toFixed(2)}x, `
          + `${vsOriginal.compiled.median_ms.toFixed(2)} ms, size ${(reduced.length / original.length).toFixed(2)}x, `
          + `${acc.map((a) => `${a.name} cosine ${a.cosine.toFixed(5)} max rel ${a.max_rel.toExponential(1)}`).join(', ')}`);
      }
    }
  }
  if (process.argv.includes('--markdown')) {
    console.log('\n| model | ep | mode | vs fp32 plan | size vs original | lowest cosine | max rel error |\n|---|---|---|---|---|---|---|');
    for (const r of rows) console.log(r);
  }
}

await main();
