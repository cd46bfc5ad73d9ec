/**
 * Reduced precision in the CLI: a compiled plan judged against the float32 plan (`--min-cosine`), `--per-node`,
 * `--keep-fp32 auto`, and `verify --precision`.
 */
import * as path from 'node:path';
import { MsgraphError } from '../src/errors.js';
import { loadModelFile } from '../src/frontend/onnx/node-fs.js';
import { concatChunks, decodeModelBytes, encodeModelBytes, type EncodeResult } from '../src/frontend/onnx/index.js';
import { compileForOrt, type OrtCompileResult } from '../src/backends/ort/compile.js';
import { epUnavailable, type Ep, type ModelSource } from '../src/backends/ort/session.js';
import { randomInputs } from '../src/backends/ort/inputs.js';
import { modelOf } from '../src/backends/ort/verify.js';
import { firstBelow, measureAccuracy, type OutputAccuracy } from '../src/backends/ort/accuracy.js';
import { perNodeAccuracy, type PerNodeAccuracy } from '../src/backends/ort/sensitivity.js';
import type { Profile } from '../src/util/profile.js';
import type { Progress } from './progress.js';
import { AUTO_LOCATION, feedsFor, minCosineOf, precisionOf, prepare, sessionSource, shapesFrom, type OrtFlags } from './ort-models.js';

/** A compiled model and its encoding. */
export interface CompiledPlan {
  res: OrtCompileResult;
  enc: EncodeResult;
}

/**
 * Judges a reduced-precision plan against the float32 plan of the same model; with `--keep-fp32 auto`, recompiles
 * with the layers that lose most kept in float32 until every output holds `--min-cosine`. Records the accuracy in
 * the plan and prints it. Returns the plan to write, or null (exit status 1 set) when it is rejected.
 */
export async function acceptReducedPlan(
  file: string, opts: OrtFlags & { inputs?: string; passes: string; perNode?: boolean }, ep: Ep, first: CompiledPlan,
  recompile: (keep: string[]) => CompiledPlan, prof: Profile, progress: Progress, location: string,
): Promise<CompiledPlan | null> {
  const reduce = precisionOf(opts);
  const precision = reduce.precision!;
  const minCosine = minCosineOf(opts);
  const auto = (reduce.keepFp32 ?? []).includes('auto');
  let keep = (reduce.keepFp32 ?? []).filter((k) => k !== 'auto');
  let { res, enc } = first;
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
      ({ res, enc } = recompile(keep));
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
      return null;
    }
    return { res, enc };
  } finally {
    ref.cleanup();
  }
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

/**
 * `verify --precision int8`: a reduced plan is judged by the metrics its compile uses (cosine similarity per output
 * against the original, `--min-cosine`), not by element-wise tolerances.
 */
export async function verifyPrecision(file: string, opts: OrtFlags & { inputs?: string; compiled?: string; perNode?: boolean }, ep: Ep, precision: string, progress: Progress): Promise<void> {
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
