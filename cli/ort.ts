/** `compile --target onnx`, `run`, `verify` and `bench`: thin wrappers over src/backends/ort. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MsgraphError } from '../src/errors.js';
import type { Model } from '../src/ir/model.js';
import type { Tensor } from '../src/ir/tensor.js';
import { printGraph } from '../src/ir/print.js';
import { verify } from '../src/ir/verify.js';
import { formatBundle } from '../src/ir/bundle.js';
import { fromTensor, num } from '../src/ir/array.js';
import { loadModelFile, stageFiles } from '../src/frontend/onnx/node-fs.js';
import { writeInterruptibly } from './interrupt.js';
import { encodeModelBytes } from '../src/frontend/onnx/index.js';
import { compileForOrt } from '../src/backends/ort/compile.js';
import { checkEp, createSession, epUnavailable, type Ep } from '../src/backends/ort/session.js';
import { verifyModels, type Comparison, type VerifyReport } from '../src/backends/ort/verify.js';
import { benchModels } from '../src/backends/ort/bench.js';
import { Progress } from './progress.js';
import { checkPrecision } from '../src/backends/ort/quantize.js';
import { Profile } from '../src/util/profile.js';
import { explain } from './explain.js';
import { minCosineOf, precisionOf, prepare, shapesFrom, type OrtFlags } from './ort-models.js';
import { acceptReducedPlan, verifyPrecision } from './precision.js';
import { verifyMindSpore } from './verify-mindspore.js';

export { shapesFrom, type OrtFlags } from './ort-models.js';

export async function compileOnnx(file: string, opts: OrtFlags & { output: string; passes: string; printAfter?: string[]; externalData?: boolean; printIr?: boolean; explainFusion?: boolean; timings?: boolean; profile?: boolean; inputs?: string; perNode?: boolean }): Promise<void> {
  const progress = Progress.for({});
  const ep = checkEp(opts.ep ?? 'cpu');
  const reduce = precisionOf(opts);
  const precision = reduce.precision!;
  minCosineOf(opts); // a bad --min-cosine is reported before any work
  const auto = (reduce.keepFp32 ?? []).includes('auto');
  if ((auto || opts.perNode) && precision === 'fp32') throw new MsgraphError('usage', `${auto ? '--keep-fp32 auto' : '--per-node'} goes with --precision int8, int4 or fp16`);
  progress.set('decoding');
  const prof = new Profile();
  let model = prof.run('read and decode', () => loadModelFile(file));
  prof.run('verify', () => verify(model.graph));
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
    const enc = prof.run('encode', () => encodeModelBytes(model, { externalData: opts.externalData ? { location, threshold: 1024 } : undefined, autoLocation: location }));
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
  const targets: [string, Uint8Array[]][] = [[opts.output, enc.chunks], [`${opts.output}.plan.json`, [new TextEncoder().encode(JSON.stringify(plan, null, 1) + '\n')]]];
  if (enc.externalChunks.length) targets.push([path.join(path.dirname(opts.output), location), enc.externalChunks]);
  fs.mkdirSync(path.dirname(path.resolve(opts.output)), { recursive: true });
  await prof.runAsync('write', () => writeInterruptibly(() => stageFiles(targets)));
  progress.done();
  if (opts.profile) process.stderr.write(prof.format(`profile: compile --target onnx ${path.basename(file)}`));
  const mem = res.plan.memory;
  process.stderr.write(
    `msgraph: wrote ${opts.output} and ${opts.output}.plan.json (${res.plan.node_count} nodes; activations ${kib(mem.planned_bytes)} planned vs ${kib(mem.naive_bytes)} naive, ${(mem.ratio * 100).toFixed(1)}%)\n`,
  );
}

const kib = (b: number) => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MiB` : `${(b / 1024).toFixed(1)} KiB`);

function summary(t: Tensor): string {
  if (t.isString || t.size === 0) return '';
  const a = num(fromTensor(t));
  let lo = Infinity;
  let hi = -Infinity;
  let sum = 0;
  for (const x of a) {
    lo = Math.min(lo, x);
    hi = Math.max(hi, x);
    sum += x;
  }
  const f = (x: number) => (Number.isInteger(x) ? String(x) : x.toPrecision(5));
  return `min ${f(lo)} max ${f(hi)} mean ${f(sum / a.length)}`;
}

export async function runCommand(file: string, opts: OrtFlags & { inputs?: string; output?: string }): Promise<void> {
  const progress = Progress.for(opts);
  const ep = await availableEp(opts.ep);
  const p = prepare(file, opts, progress);
  let outs: Map<string, Tensor>;
  try {
    progress.set(`running on ${ep}`);
    const s = await createSession(p.compiled, { ep });
    try {
      outs = await s.run(p.feeds);
    } finally {
      await s.release();
    }
  } finally {
    p.cleanup();
  }
  progress.done();
  if (opts.output) await writeInterruptibly(() => stageFiles([[opts.output!, [new TextEncoder().encode(formatBundle({ inputs: p.feeds, outputs: outs }))]]]));
  if (opts.json) {
    process.stdout.write(JSON.stringify({ ep, outputs: [...outs].map(([n, t]) => ({ name: n, dtype: t.dtype.name, shape: t.dims })) }, null, 2) + '\n');
    return;
  }
  for (const [n, t] of outs) process.stdout.write(`${n}: ${t.dtype.name}[${t.dims.join(',')}] ${summary(t)}\n`);
}

function fmtCmp(c: Comparison): string {
  const e = (x: number) => (Number.isFinite(x) ? x.toExponential(2) : String(x));
  return `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: max abs ${e(c.maxAbs)}, max rel ${e(c.maxRel)}, ${c.mismatches}/${c.elements} mismatched${c.problem ? ` (${c.problem})` : ''}`;
}

export async function verifyCommand(file: string, opts: OrtFlags & { inputs?: string; target?: string; perNode?: boolean; rtol?: string; atol?: string; compiled?: string }): Promise<void> {
  const progress = Progress.for(opts);
  const rtol = Number(opts.rtol ?? 1e-4);
  const atol = Number(opts.atol ?? 1e-6);
  if (!(rtol >= 0) || !(atol >= 0)) throw new MsgraphError('usage', '--rtol and --atol must be non-negative numbers');
  const ep = await availableEp(opts.ep);
  const precision = checkPrecision(opts.precision ?? 'fp32');
  if (precision !== 'fp32' && (opts.target ?? 'onnx') === 'onnx') return verifyPrecision(file, opts, ep, precision, progress);
  let report: VerifyReport;
  let label: string;
  if ((opts.target ?? 'onnx') === 'mindspore') {
    report = await verifyMindSpore(file, opts, { rtol, atol }, progress);
    label = 'MindSpore package under the torch-backed stand-in (not MindSpore)';
  } else {
    const p = prepare(file, opts, progress, opts.compiled);
    try {
      progress.set(opts.perNode ? 'running both models with every shared value exposed' : 'running both models');
      report = await verifyModels(p.original, p.compiled, p.feeds, { ep, rtol, atol, perNode: opts.perNode });
    } finally {
      p.cleanup();
    }
    label = `compiled model on ${ep}`;
  }
  progress.done();
  if (opts.json) process.stdout.write(JSON.stringify({ target: label, ...report }, null, 2) + '\n');
  else {
    process.stdout.write(`verify: ${label} against the original on onnxruntime (rtol ${rtol}, atol ${atol})\n`);
    for (const c of report.outputs) process.stdout.write(`  ${fmtCmp(c)}\n`);
    if (report.firstDivergence) {
      const d = report.firstDivergence;
      process.stdout.write(`  first divergence: value ${d.value} from node ${d.node || '(unnamed)'} (${d.op}), after ${d.checked} matching shared values\n    ${fmtCmp(d.comparison)}\n`);
    } else if (report.firstDivergence === null) process.stdout.write(`  per-node: all ${report.sharedValues} shared values match\n`);
    process.stdout.write(report.ok ? 'PASS\n' : 'FAIL\n');
  }
  if (!report.ok) process.exitCode = 1;
}

/** An EP that cannot run here is the first thing reported. */
async function availableEp(name: string | undefined): Promise<Ep> {
  const ep = checkEp(name ?? 'cpu');
  const why = await epUnavailable(ep);
  if (why) throw new MsgraphError('unsupported', why);
  return ep;
}

export async function benchCommand(file: string, opts: OrtFlags & { runs?: string; warmup?: string; threads?: string }): Promise<void> {
  const progress = Progress.for(opts);
  const ep = await availableEp(opts.ep);
  const runs = Number(opts.runs ?? 20);
  const warmup = Number(opts.warmup ?? 3);
  if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(warmup) || warmup < 0) throw new MsgraphError('usage', '--runs must be a positive integer and --warmup a non-negative one');
  const p = prepare(file, opts, progress);
  let r: Awaited<ReturnType<typeof benchModels>>;
  try {
    r = await benchModels(p.original, p.compiled, p.feeds, { ep, runs, warmup, threads: opts.threads ? Number(opts.threads) : undefined, onProgress: (what) => progress.set(`benchmarking ${what}`) });
  } finally {
    p.cleanup();
  }
  progress.done();
  if (opts.json) {
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    return;
  }
  const row = (name: string, s: typeof r.original) => `  ${name.padEnd(9)} create ${s.create_ms.toFixed(1).padStart(8)} ms   median ${s.median_ms.toFixed(3).padStart(9)} ms   p90 ${s.p90_ms.toFixed(3).padStart(9)} ms   ${s.throughput_per_s.toFixed(1).padStart(8)}/s\n`;
  process.stdout.write(`bench ${path.basename(file)} on ${ep}, ${r.original.runs} runs each:\n`);
  process.stdout.write(row('original', r.original));
  process.stdout.write(row('compiled', r.compiled));
  process.stdout.write(`  speedup ${r.speedup.toFixed(3)}x (original median / compiled median), session creation ${r.create_ratio.toFixed(2)}x\n`);
}
