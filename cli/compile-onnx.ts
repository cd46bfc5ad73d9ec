/** `compile --target onnx`: the optimised ONNX file and its plan, and for a reduced precision its accuracy check. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MsgraphError } from '../src/errors.js';
import type { Model } from '../src/ir/model.js';
import { printGraph } from '../src/ir/print.js';
import { verify } from '../src/ir/verify.js';
import { loadModelFile, stageFiles, tempFor, type Prewritten } from '../src/frontend/onnx/node-fs.js';
import { startWriteAhead, type WriteAhead } from '../src/frontend/onnx/write-ahead.js';
import { encodeModelBytes, type Chunk } from '../src/frontend/onnx/index.js';
import { compileForOrt } from '../src/backends/ort/compile.js';
import { checkEp } from '../src/backends/ort/session.js';
import { Profile } from '../src/util/profile.js';
import { writeInterruptibly } from './interrupt.js';
import { Progress } from './progress.js';
import { explain } from './explain.js';
import { minCosineOf, precisionOf, shapesFrom, type OrtFlags } from './ort-models.js';
import { acceptReducedPlan } from './precision.js';

type CompileOnnxOptions = OrtFlags & { output: string; passes: string; printAfter?: string[]; externalData?: boolean; printIr?: boolean; explainFusion?: boolean; timings?: boolean; profile?: boolean; inputs?: string; perNode?: boolean };

export async function compileOnnx(file: string, opts: CompileOnnxOptions): Promise<void> {
  const progress = Progress.for({});
  const ep = checkEp(opts.ep ?? 'cpu');
  const reduce = precisionOf(opts);
  const precision = reduce.precision!;
  minCosineOf(opts); // a bad --min-cosine is reported before any work
  const auto = (reduce.keepFp32 ?? []).includes('auto');
  if ((auto || opts.perNode) && precision === 'fp32') throw new MsgraphError('usage', `${auto ? '--keep-fp32 auto' : '--per-node'} goes with --precision int8, int4 or fp16`);
  progress.set('decoding');
  const prof = new Profile(!!opts.profile);
  const model = prof.run('read and decode', () => loadModelFile(file));
  prof.run('verify', () => verify(model.graph));
  // The weights go into the output while the passes run, betting that they come out of the compile unchanged
  // (write-ahead.ts); a reduced precision changes them, and external data puts them in another file.
  const t0 = performance.now();
  const ahead = precision === 'fp32' && !opts.externalData ? startAhead(model, opts.output) : null;
  if (ahead) prof.add('start writing ahead', performance.now() - t0);
  try {
    await compileAndWrite(file, opts, { model, ahead, prof, progress, ep, reduce });
  } finally {
    ahead?.abort(); // a failed compile leaves no temporary behind; after the write there is nothing left to do
  }
}

interface Run {
  model: Model;
  ahead: WriteAhead | null;
  prof: Profile;
  progress: Progress;
  ep: ReturnType<typeof checkEp>;
  reduce: ReturnType<typeof precisionOf>;
}

async function compileAndWrite(file: string, opts: CompileOnnxOptions, run: Run): Promise<void> {
  const { ahead, prof, progress, ep, reduce } = run;
  const precision = reduce.precision!;
  let model = run.model;
  const location = `${path.basename(opts.output)}.data`;
  const compile = (first: boolean, keep: string[]) => {
    const res = compileForOrt(model, {
      ep, shapes: shapesFrom(opts.shape), passes: opts.passes, timings: opts.timings, ...reduce, keepFp32: keep,
      ...(first ? {
        printAfter: opts.printAfter, profile: prof,
        onPrint: (pass: string, m: Model) => process.stdout.write(`# after ${pass}\n${printGraph(m.graph)}`),
        onPass: (pass: string, i: number, n: number) => progress.set(`pass ${i + 1}/${n}: ${pass}`),
      } : {}),
    });
    progress.set('writing');
    const enc = prof.run('encode', () => encodeModelBytes(model, {
      externalData: opts.externalData ? { location, threshold: 1024 } : undefined, autoLocation: location,
      ...(first && ahead ? { leading: ahead.leading, lengthWidth: ahead.lengthWidth } : {}),
    }));
    return { res, enc };
  };
  let { res, enc } = compile(true, (reduce.keepFp32 ?? []).filter((k) => k !== 'auto'));
  if (opts.printIr) process.stdout.write(printGraph(model.graph));
  if (opts.explainFusion) {
    const fused = res.passes.flatMap((p) => Object.entries(p.stats).filter(([k]) => p.name.startsWith('fuse-') && k).map(([k, v]) => `${k} ${v}`));
    explain(res.passes.flatMap((p) => p.nearMisses ?? []), fused.join(', ') || 'none (no fusion pass in --passes)');
  }
  if (precision !== 'fp32') {
    const accepted = await acceptReducedPlan(file, opts, ep, { res, enc }, (keep) => {
      model = loadModelFile(file);
      return compile(false, keep);
    }, prof, progress, location);
    if (!accepted) return;
    ({ res, enc } = accepted);
  }
  // The plan carries the profile only when asked for (it is otherwise the same on every run).
  const plan = opts.profile ? { ...res.plan, profile: prof.phases } : res.plan;
  const targets: [string, Chunk[] | Prewritten][] = [[opts.output, ahead ? ahead.target(enc) : enc.chunks], [`${opts.output}.plan.json`, [new TextEncoder().encode(JSON.stringify(plan, null, 1) + '\n')]]];
  if (enc.externalChunks.length) targets.push([path.join(path.dirname(opts.output), location), enc.externalChunks]);
  fs.mkdirSync(path.dirname(path.resolve(opts.output)), { recursive: true });
  await prof.runAsync('write', () => writeInterruptibly(() => stageFiles(targets)));
  progress.done();
  if (opts.profile) {
    process.stderr.write(prof.format(`profile: compile --target onnx ${path.basename(file)}`));
    if (ahead) process.stderr.write(`  written ahead: ${mib(ahead.written)}, of which ${mib(ahead.kept)} kept\n`);
  }
  const mem = res.plan.memory;
  process.stderr.write(
    `msgraph: wrote ${opts.output} and ${opts.output}.plan.json (${res.plan.node_count} nodes; activations ${kib(mem.planned_bytes)} planned vs ${kib(mem.naive_bytes)} naive, ${(mem.ratio * 100).toFixed(1)}%)\n`,
  );
}

/** Starts writing the weights ahead into the output's temporary file, when the model has enough of them on disk. */
function startAhead(model: Model, output: string): WriteAhead | null {
  fs.mkdirSync(path.dirname(path.resolve(output)), { recursive: true });
  try {
    return startWriteAhead(model, tempFor(output));
  } catch (e) {
    throw e instanceof MsgraphError ? e : new MsgraphError('io', `cannot write: ${(e as Error).message}`, { file: output });
  }
}

const mib = (b: number) => `${(b / (1 << 20)).toFixed(1)} MiB`;
const kib = (b: number) => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MiB` : `${(b / 1024).toFixed(1)} KiB`);
