/** `compile --target onnx`, `run`, `verify` and `bench`: thin wrappers over src/backends/ort. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { MsgraphError } from '../src/errors.js';
import type { Model } from '../src/ir/model.js';
import { Tensor } from '../src/ir/tensor.js';
import { dtypeFromName } from '../src/ir/dtype.js';
import { printGraph } from '../src/ir/print.js';
import { verify } from '../src/ir/verify.js';
import { formatBundle, parseBundle } from '../src/ir/bundle.js';
import { fromTensor, num } from '../src/eval/array.js';
import { externalLocations, fileSource, loadModelFile, modelFromFileBytes, openModelFile, stageFiles, writeFilesAtomic } from '../src/frontend/onnx/node-fs.js';
import { writeInterruptibly } from './interrupt.js';
import { concatChunks, decodeModelBytes, encodeModelBytes, type EncodeResult } from '../src/frontend/onnx/index.js';
import { perNodeAccuracy, type PerNodeAccuracy } from '../src/backends/ort/sensitivity.js';
import { compileForOrt, parseShapeSpec, type Fp16Mode, type OrtCompileOptions } from '../src/backends/ort/compile.js';
import { checkEp, createSession, epUnavailable, type Ep, type ModelSource } from '../src/backends/ort/session.js';
import { checkFeeds, randomInputs } from '../src/backends/ort/inputs.js';
import { compareTensors, modelOf, verifyModels, type Comparison, type VerifyReport } from '../src/backends/ort/verify.js';
import { benchModels } from '../src/backends/ort/bench.js';
import { buildMindSporePackage } from '../src/backends/mindspore/package.js';
import { Progress } from './progress.js';
import { checkPrecision } from '../src/backends/ort/quantize.js';
import { DEFAULT_MIN_COSINE, firstBelow, measureAccuracy, type OutputAccuracy } from '../src/backends/ort/accuracy.js';
import { Profile } from '../src/util/profile.js';
import { explain } from './compile.js';

export interface OrtFlags {
  ep?: string;
  shape?: string[];
  passes?: string;
  json?: boolean;
  seed?: string;
  precision?: string;
  keepFp32?: string[];
  minCosine?: string;
  fp16?: string;
  ioDtype?: string;
}

/** The precision options of compileForOrt from the flags. */
function precisionOf(flags: OrtFlags): Pick<OrtCompileOptions, 'precision' | 'keepFp32' | 'fp16' | 'ioDtype'> {
  const precision = checkPrecision(flags.precision ?? 'fp32');
  if (flags.fp16 && precision !== 'fp16') throw new MsgraphError('usage', '--fp16 goes with --precision fp16');
  if (flags.fp16 && flags.fp16 !== 'storage' && flags.fp16 !== 'compute') throw new MsgraphError('usage', `--fp16 ${JSON.stringify(flags.fp16)}: storage or compute`);
  if (flags.ioDtype && flags.ioDtype !== 'fp32' && flags.ioDtype !== 'fp16') throw new MsgraphError('usage', `--io-dtype ${JSON.stringify(flags.ioDtype)}: fp32 or fp16`);
  return { precision, keepFp32: flags.keepFp32, fp16: flags.fp16 as Fp16Mode | undefined, ioDtype: (flags.ioDtype ?? 'fp32') as 'fp32' | 'fp16' };
}

function minCosineOf(flags: OrtFlags): number {
  const m = Number(flags.minCosine ?? DEFAULT_MIN_COSINE);
  if (!(m >= -1 && m <= 1)) throw new MsgraphError('usage', `--min-cosine must be a number in [-1, 1], got ${JSON.stringify(flags.minCosine)}`);
  return m;
}

/** Where a compiled model past protobuf's 2 GiB limit keeps its tensors when it only goes to onnxruntime. */
const AUTO_LOCATION = 'model.onnx.data';

/**
 * An encoded model for onnxruntime: its bytes, or, when it has external data, a temporary directory holding it with
 * its data file (removed by `cleanup`).
 */
function sessionSource(enc: EncodeResult, location = AUTO_LOCATION): { source: ModelSource; bytes: number; cleanup: () => void } {
  const size = [...enc.chunks, ...enc.externalChunks].reduce((s, c) => s + c.length, 0);
  if (!enc.externalChunks.length) return { source: concatChunks(enc.chunks), bytes: size, cleanup: () => {} };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-run-'));
  try {
    writeFilesAtomic([[path.join(dir, 'model.onnx'), enc.chunks], [path.join(dir, location), enc.externalChunks]]);
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return { source: fileSource(path.join(dir, 'model.onnx')), bytes: size, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function shapesFrom(specs: string[] | undefined): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const s of specs ?? []) {
    const [name, dims] = parseShapeSpec(s);
    out[name] = dims;
  }
  return out;
}

interface Prepared {
  original: ModelSource;
  compiled: ModelSource;
  /** The original model (inputs, dtypes, shapes). */
  model: Model;
  feeds: Map<string, Tensor>;
  /** Removes temporary files (a compiled model past 2 GiB is written to a temporary directory). */
  cleanup(): void;
}

/**
 * The original and compiled model for run/verify/bench, and the inputs. A model whose tensors live in external
 * data files is run from its path, so onnxruntime finds them. Inputs are made (and their size checked) before
 * compiling. An existing compiled file (one with its .plan.json) is run as it is.
 */
function prepare(file: string, flags: OrtFlags & { inputs?: string }, progress: Progress, compiledFile?: string): Prepared {
  if (flags.keepFp32?.includes('auto')) throw new MsgraphError('usage', '--keep-fp32 auto is for compile, which records the layers it kept in the plan; give them to run, verify and bench by name');
  progress.set('decoding');
  const { bytes, model } = openModelFile(file);
  const sourceOf = (f: string, b: Uint8Array, m: Model): ModelSource => (externalLocations(m).length ? fileSource(f) : b);
  const original = sourceOf(file, bytes, model);
  const feeds = feedsFor(model, flags.inputs, flags);
  const none = { cleanup: () => {} };
  if (compiledFile) {
    const c = openModelFile(compiledFile);
    return { original, compiled: sourceOf(compiledFile, c.bytes, c.model), model, feeds, ...none };
  }
  if (fs.existsSync(`${file}.plan.json`)) return { original, compiled: original, model, feeds, ...none };
  progress.set('compiling');
  const m = modelFromFileBytes(bytes, file);
  compileForOrt(m, { ep: checkEp(flags.ep ?? 'cpu'), shapes: shapesFrom(flags.shape), passes: flags.passes ?? 'default', ...precisionOf(flags) });
  const c = sessionSource(encodeModelBytes(m, { autoLocation: AUTO_LOCATION }));
  return { original, compiled: c.source, model, feeds, cleanup: c.cleanup };
}

function feedsFor(model: Model, inputs: string | undefined, flags: OrtFlags): Map<string, Tensor> {
  if (inputs) {
    let text: string;
    try {
      text = fs.readFileSync(inputs, 'utf8');
    } catch (e) {
      throw new MsgraphError('io', `cannot read ${(e as Error).message.split(':')[0] === 'ENOENT' ? 'it: no such file' : (e as Error).message}`, { file: inputs });
    }
    const feeds = parseBundle(text, inputs).inputs;
    checkFeeds(model, feeds, inputs);
    return feeds;
  }
  return randomInputs(model, Number(flags.seed ?? 1), { shapes: shapesFrom(flags.shape) });
}

export async function compileOnnx(file: string, opts: OrtFlags & { output: string; passes: string; printAfter?: string[]; externalData?: boolean; printIr?: boolean; explainFusion?: boolean; timings?: boolean; profile?: boolean; inputs?: string; perNode?: boolean }): Promise<void> {
  const progress = Progress.for({});
  const ep = checkEp(opts.ep ?? 'cpu');
  const reduce = precisionOf(opts);
  const precision = reduce.precision!;
  const minCosine = minCosineOf(opts);
  const auto = (reduce.keepFp32 ?? []).includes('auto');
  if ((auto || opts.perNode) && precision === 'fp32') throw new MsgraphError('usage', `${auto ? '--keep-fp32 auto' : '--per-node'} goes with --precision int8 or fp16`);
  let keep = (reduce.keepFp32 ?? []).filter((k) => k !== 'auto');
  progress.set('decoding');
  const prof = new Profile();
  let model = prof.run('read and decode', () => loadModelFile(file));
  prof.run('verify', () => verify(model.graph));
  const location = `${path.basename(opts.output)}.data`;
  const compile = (first: boolean) => {
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
  let { res, enc } = compile(true);
  if (opts.printIr) process.stdout.write(printGraph(model.graph));
  if (opts.explainFusion) {
    const fused = res.passes.flatMap((p) => Object.entries(p.stats).filter(([k]) => p.name.startsWith('fuse-') && k).map(([k, v]) => `${k} ${v}`));
    explain(res.passes.flatMap((p) => p.nearMisses ?? []), fused.join(', ') || 'none (no fusion pass in --passes)');
  }
  if (precision !== 'fp32') {
    progress.set('measuring accuracy against the float32 plan');
    const ref = await prof.runAsync('float32 reference plan', async () => referencePlan(file, opts, ep));
    try {
      let acc = await prof.runAsync('measure accuracy', () => ref.judge(enc, location));
      // --keep-fp32 auto: the layers that lose most go back to float32, 1, 2, 4, ... at a time, until the plan passes.
      for (let round = 0; auto && firstBelow(acc.outputs, minCosine) && round < AUTO_ROUNDS; round++) {
        progress.set(`finding the layers that lose accuracy (round ${round + 1})`);
        const layers = (await ref.perNode(enc, minCosine)).layers.filter((l) => !keep.includes(l.keep));
        if (!layers.length) break;
        const picked = layers.slice(0, 2 ** round).map((l) => l.keep);
        progress.done();
        process.stderr.write(`msgraph: ${precision}: ${fmtAccuracy(firstBelow(acc.outputs, minCosine)!)}; keeping in float32: ${picked.join(', ')}\n`);
        keep = [...keep, ...picked];
        model = loadModelFile(file);
        ({ res, enc } = compile(false));
        acc = await prof.runAsync('measure accuracy', () => ref.judge(enc, location));
      }
      res.plan.precision = { ...res.plan.precision, ...acc.record, min_cosine: minCosine, ...(auto ? { auto_kept: keep.filter((k) => !(reduce.keepFp32 ?? []).includes(k)) } : {}) };
      progress.done();
      for (const a of acc.outputs) process.stderr.write(`msgraph: ${precision} ${fmtAccuracy(a)}\n`);
      const p = res.plan.precision;
      const what = precision === 'int8' || precision === 'int4'
        ? `${p.quantized} matmul(s) to ${precision} and ${p.embeddings} embedding table(s) to int8`
        : p.compute === 'fp16'
          ? `${p.fp16_nodes} node(s) computing in float16, ${p.fp32_nodes} in float32, ${p.casts} cast(s), ${p.converted} weight(s) in float16`
          : `${p.converted} weight(s) stored in float16 (compute float32)`;
      process.stderr.write(`msgraph: ${precision}: ${what}, ${(p.kept as string[]).length} kept in float32; file ${(acc.sizeRatio * 100).toFixed(1)}% of the float32 plan's (inputs: ${acc.inputs})\n`);
      const bad = firstBelow(acc.outputs, minCosine);
      if (bad && opts.perNode) {
        progress.set('comparing every shared value');
        const pn = await ref.perNode(enc, minCosine);
        progress.done();
        process.stderr.write(fmtPerNode(pn));
      }
      if (bad) {
        process.stderr.write(`msgraph: error: ${file}: ${precision} plan rejected: output ${JSON.stringify(bad.name)} has cosine similarity ${bad.cosine.toFixed(6)} to the float32 plan, below --min-cosine ${minCosine}; nothing was written${opts.perNode || auto ? '' : ' (--per-node names the layers that lose it, --keep-fp32 auto keeps them in float32)'}\n`);
        process.exitCode = 1;
        return;
      }
    } finally {
      ref.cleanup();
    }
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

/** Rounds of `--keep-fp32 auto` (1 + 2 + ... + 64 layers at most). */
const AUTO_ROUNDS = 7;

const fmtAccuracy = (a: OutputAccuracy) => `${a.name}: cosine ${a.cosine.toFixed(6)}, max abs ${a.max_abs.toExponential(2)}, max rel ${a.max_rel.toExponential(2)}`;

function fmtPerNode(p: PerNodeAccuracy): string {
  const lines = [`msgraph: per-node: ${p.values} shared value(s) compared`];
  const f = p.firstBelow;
  lines.push(f ? `  first below the bound: value ${f.value} from node ${f.node || '(unnamed)'} (${f.op}), cosine ${f.cosine.toFixed(6)}` : '  every shared value is within the bound (the loss is in the outputs\' own layers)');
  if (p.layers.length) lines.push('  layers losing most (input cosine -> output cosine; --keep-fp32 takes the name):');
  for (const l of p.layers.slice(0, 8)) lines.push(`    ${l.keep} (${l.op}): ${l.input_cosine.toFixed(6)} -> ${l.output_cosine.toFixed(6)}`);
  return lines.join('\n') + '\n';
}

/**
 * The float32 plan of the same model, which a reduced plan is judged against, on the `--inputs` bundle or seeded
 * random inputs (symbolic dims without `--shape` at 4), on the plan's EP (cpu when the EP cannot run here).
 */
async function referencePlan(file: string, opts: OrtFlags & { inputs?: string; passes: string }, ep: Ep) {
  const ref = loadModelFile(file);
  const feeds = opts.inputs ? feedsFor(ref, opts.inputs, opts) : randomInputs(ref, Number(opts.seed ?? 1), { shapes: shapesFrom(opts.shape), dimValue: 4 });
  compileForOrt(ref, { ep, shapes: shapesFrom(opts.shape), passes: opts.passes });
  const a = sessionSource(encodeModelBytes(ref, { autoLocation: AUTO_LOCATION }));
  const runEp: Ep = (await epUnavailable(ep)) ? 'cpu' : ep;
  const inputs = opts.inputs ? path.basename(opts.inputs) : `random, seed ${opts.seed ?? 1}${opts.shape?.length ? '' : ', symbolic dims 4'}`;
  const bytesOf = (s: ModelSource): Uint8Array => {
    if (s instanceof Uint8Array) return s;
    throw new MsgraphError('unsupported', "comparing every value of the float32 plan needs it under protobuf's 2 GiB limit");
  };
  return {
    cleanup: a.cleanup,
    async judge(reduced: EncodeResult, location: string): Promise<{ outputs: OutputAccuracy[]; sizeRatio: number; inputs: string; record: Record<string, unknown> }> {
      const b = sessionSource(reduced, location);
      try {
        const outputs = await measureAccuracy(a.source, b.source, feeds, runEp);
        return { outputs, sizeRatio: b.bytes / a.bytes, inputs, record: { accuracy: outputs, measured_on: runEp, inputs, size_ratio: b.bytes / a.bytes } };
      } finally {
        b.cleanup();
      }
    },
    perNode(reduced: EncodeResult, minCosine: number): Promise<PerNodeAccuracy> {
      if (reduced.externalChunks.length) throw new MsgraphError('unsupported', "comparing every value of the reduced plan needs it under protobuf's 2 GiB limit");
      return perNodeAccuracy(decodeModelBytes(bytesOf(a.source)), decodeModelBytes(concatChunks(reduced.chunks)), feeds, runEp, minCosine);
    },
  };
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

/**
 * `verify --precision int8`: a reduced plan is judged by the metrics its compile uses (cosine similarity per output
 * against the original, `--min-cosine`), not by element-wise tolerances.
 */
async function verifyPrecision(file: string, opts: OrtFlags & { inputs?: string; compiled?: string; perNode?: boolean }, ep: Ep, precision: string, progress: Progress): Promise<void> {
  const minCosine = minCosineOf(opts);
  const p = prepare(file, opts, progress, opts.compiled);
  let outputs: OutputAccuracy[];
  let perNode: PerNodeAccuracy | undefined;
  try {
    progress.set('running both models');
    outputs = await measureAccuracy(p.original, p.compiled, p.feeds, ep);
    if (opts.perNode) {
      progress.set('running both models with every shared value exposed');
      perNode = await perNodeAccuracy(modelOf(p.original), modelOf(p.compiled), p.feeds, ep, minCosine);
    }
  } finally {
    p.cleanup();
  }
  progress.done();
  const ok = !firstBelow(outputs, minCosine);
  if (opts.json) process.stdout.write(JSON.stringify({ target: `${precision} compiled model on ${ep}`, ok, min_cosine: minCosine, outputs, ...(perNode ? { per_node: perNode } : {}) }, null, 2) + '\n');
  else {
    process.stdout.write(`verify: ${precision} compiled model on ${ep} against the original on onnxruntime (min cosine ${minCosine})\n`);
    for (const a of outputs) process.stdout.write(`  ${a.cosine >= minCosine ? 'ok  ' : 'FAIL'} ${fmtAccuracy(a)}\n`);
    if (perNode) process.stdout.write(fmtPerNode(perNode).replace(/^msgraph: /, '  '));
    process.stdout.write(ok ? 'PASS\n' : 'FAIL\n');
  }
  if (!ok) process.exitCode = 1;
}

/** An EP that cannot run here is the first thing reported. */
async function availableEp(name: string | undefined): Promise<Ep> {
  const ep = checkEp(name ?? 'cpu');
  const why = await epUnavailable(ep);
  if (why) throw new MsgraphError('unsupported', why);
  return ep;
}

async function verifyMindSpore(file: string, opts: OrtFlags & { inputs?: string }, tol: { rtol: number; atol: number }, progress: Progress): Promise<VerifyReport> {
  const py = '/usr/bin/python3';
  const standin = path.resolve(import.meta.dirname, '../../test/standin');
  if (!fs.existsSync(path.join(standin, 'run_package.py'))) throw new MsgraphError('unsupported', 'verify --target mindspore needs the test stand-in (test/standin), which this installation lacks');
  if (spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' }).status !== 0) {
    throw new MsgraphError('unsupported', 'verify --target mindspore runs the package under a torch-backed stand-in and needs Debian\'s PyTorch', { hint: 'apt-get install -y python3-torch python3-numpy' });
  }
  const { bytes, model } = openModelFile(file);
  const original: ModelSource = externalLocations(model).length ? fileSource(file) : bytes;
  const feeds = feedsFor(model, opts.inputs, opts);
  progress.set('emitting the MindSpore package');
  const pkg = buildMindSporePackage(modelFromFileBytes(bytes, file), { source: path.basename(file) });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-verify-'));
  try {
    for (const [n, c] of pkg.files) writeFilesAtomic([[path.join(dir, n), c]]);
    // Tensors travel as raw little-endian files with a small index: no size limit from JSON strings.
    writeRawTensors(path.join(dir, 'inputs'), feeds);
    progress.set('running the package under the stand-in');
    const r = spawnSync(py, [path.join(standin, 'run_package.py'), dir, path.join(dir, 'inputs'), path.join(dir, 'outputs')], { encoding: 'utf8', maxBuffer: 16 << 20 });
    if (r.status !== 0) throw new MsgraphError('unsupported', `the package failed under the stand-in: ${r.stderr.trim().split('\n').pop()}`);
    const out = readRawTensors(path.join(dir, 'outputs'));
    progress.set('running the original');
    const s = await createSession(original, { ep: 'cpu' });
    let want: Map<string, Tensor>;
    try {
      want = await s.run(feeds);
    } finally {
      await s.release();
    }
    const outputs = [...want].map(([n, t]) => {
      const g = out.tensors.get(n);
      return g ? compareTensors(n, t, g, tol) : { name: n, ok: false, maxAbs: Infinity, maxRel: Infinity, mismatches: t.size, elements: t.size, problem: 'missing from the package\'s outputs' };
    });
    const notLoaded = (out.extra.not_loaded ?? []) as string[];
    const unused = (out.extra.unused ?? []) as string[];
    if (notLoaded.length || unused.length) outputs.push({ name: 'parameters', ok: false, maxAbs: 0, maxRel: 0, mismatches: notLoaded.length + unused.length, elements: 0, problem: `not loaded: ${notLoaded.join(', ')}; unused: ${unused.join(', ')}` });
    return { ok: outputs.every((c) => c.ok), outputs };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Tensors as `<dir>/<i>.bin` (raw little-endian bytes) plus `<dir>/index.json` with names, dtypes and shapes. */
function writeRawTensors(dir: string, tensors: Map<string, Tensor>): void {
  fs.mkdirSync(dir);
  const index: { name: string; dtype: string; shape: number[]; file: string }[] = [];
  [...tensors].forEach(([name, t], i) => {
    const file = `${i}.bin`;
    fs.writeFileSync(path.join(dir, file), t.bytes);
    index.push({ name, dtype: t.dtype.name, shape: [...t.dims], file });
  });
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ tensors: index }));
}

function readRawTensors(dir: string): { tensors: Map<string, Tensor>; extra: Record<string, unknown> } {
  const { tensors, ...extra } = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as { tensors: { name: string; dtype: string; shape: number[]; file: string }[] };
  const out = new Map<string, Tensor>();
  for (const e of tensors) {
    const dtype = dtypeFromName(e.dtype);
    if (!dtype || !/^\d+\.bin$/.test(e.file)) throw new MsgraphError('unsupported', `the stand-in returned an unreadable tensor ${JSON.stringify(e.name)}`);
    const b = fs.readFileSync(path.join(dir, e.file));
    out.set(e.name, Tensor.fromBytes(dtype, e.shape, new Uint8Array(b.buffer, b.byteOffset, b.byteLength), e.name));
  }
  return { tensors: out, extra };
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
