/**
 * Compiled/original latency on onnxruntime for the zoo: each model compiled with the default passes (dynamic
 * shapes) and with its bundle's shapes fixed (`--shape`), timed against the original in the same run on cpu
 * (onnxruntime-node) and wasm (onnxruntime-web in Node), ORT's own optimisations on, one session alive at a time.
 *
 *   node dist/bench/ort.js [--runs N] [--ep cpu,wasm] [--only a,b] [--large]
 * Prints a table of speedups (original median / compiled median; > 1 is faster). `--large` benchmarks the
 * benchmark-only exports instead (a 128/256-channel UNet at 32x32, a BERT-base-sized encoder at sequence 128,
 * torchvision vit_b_16), exporting them first with the local PyTorch when they are missing (about 1 GB, a minute).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadModelFile } from '../src/frontend/onnx/node-fs.js';
import { concatChunks, encodeModelBytes } from '../src/frontend/onnx/index.js';
import { compileForOrt } from '../src/backends/ort/compile.js';
import { benchModels } from '../src/backends/ort/bench.js';
import { parseBundle } from '../src/ir/bundle.js';
import type { Ep } from '../src/backends/ort/session.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const large = process.argv.includes('--large');
const zoo = process.env.MSGRAPH_ZOO ?? path.join(root, large ? 'models/.cache/large' : 'models/.cache/zoo');
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const runs = Number(arg('--runs', '20'));
const eps = arg('--ep', 'cpu,wasm').split(',') as Ep[];
const only = arg('--only', '').split(',').filter(Boolean);

if (large && !fs.existsSync(path.join(zoo, 'manifest.json'))) {
  console.log(`exporting the large benchmark models into ${zoo} ...`);
  const r = spawnSync('/usr/bin/python3', [path.join(root, 'models/zoo/export.py'), zoo, '--large'], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('bench: exporting the large models needs Debian\'s python3-torch and python3-torchvision (apt-get install -y python3-torch python3-torchvision python3-onnx)');
    process.exit(2);
  }
}
const dir = fs.existsSync(zoo) ? zoo : path.join(root, 'models');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.onnx') && (!only.length || only.includes(f.replace(/\.onnx$/, '')))).sort();
console.log(`model                  ep     nodes orig->dyn->static   speedup dynamic   speedup static`);
for (const f of files) {
  const file = path.join(dir, f);
  const bundleFile = file.replace(/\.onnx$/, '.io.json');
  if (!fs.existsSync(bundleFile)) continue;
  const feeds = parseBundle(fs.readFileSync(bundleFile, 'utf8')).inputs;
  const shapes = Object.fromEntries([...feeds].map(([n, t]) => [n, [...t.dims]]));
  const original = fs.readFileSync(file);
  const dyn = compileForOrt(loadModelFile(file), {});
  const fixed = compileForOrt(loadModelFile(file), { shapes });
  const bytes = (m: typeof dyn.model) => concatChunks(encodeModelBytes(m).chunks);
  for (const ep of eps) {
    const a = await benchModels(original, bytes(dyn.model), feeds, { ep, runs, warmup: 3 });
    const b = await benchModels(original, bytes(fixed.model), feeds, { ep, runs, warmup: 3 });
    const nodes = `${loadModelFile(file).graph.nodeCount}->${dyn.model.graph.nodeCount}->${fixed.model.graph.nodeCount}`;
    console.log(`${f.replace(/\.onnx$/, '').padEnd(22)} ${ep.padEnd(6)} ${nodes.padStart(18)}   ${a.speedup.toFixed(3).padStart(15)}x   ${b.speedup.toFixed(3).padStart(14)}x   (original ${a.original.median_ms.toFixed(2)} ms)`);
  }
}
