/**
 * The ONNX Runtime target: specialise input shapes (`--shape`), convert to the mint dialect, run the passes, then
 * the target's own passes (target-passes.ts: map the fused ops to the EP's kernels, lower back to ONNX at the
 * model's opset, fuse Conv + activation, apply the EP guards, and the precision passes), and build the static plan. onnxruntime-node ignores freeDimensionOverrides, so
 * specialisation is done here: the fixed dims flow through inference and everything that becomes static folds.
 */
import { MsgraphError } from '../../errors.js';
import type { Model } from '../../ir/model.js';
import { tensorType } from '../../ir/shape.js';
import { toMint } from '../../dialect/to-mint.js';
import { inferShapes } from '../../dialect/ops/infer.js';
import { checkPassNames, InferenceCache, runPasses, type PassManagerOptions, type PassRecord } from '../../passes/manager.js';
import { MINDSPORE_ONLY_FUSIONS, PASSES, parsePassList } from '../../passes/registry.js';
import { stripInt64ValueTypes } from './ep-guards.js';
import { buildPlan, type Plan } from './plan.js';
import type { Ep } from './session.js';
import { VERSION } from '../../version.js';
import { Profile } from '../../util/profile.js';
import type { Precision } from './quantize.js';
import { ORT_LOWERING, ORT_TARGET_PASSES } from './target-passes.js';
import { EP_CAPABILITIES } from './capabilities.js';

export interface OrtCompileOptions {
  ep?: Ep;
  /** Input name -> full shape. */
  shapes?: Record<string, number[]>;
  /** 'default', 'none' or a comma-separated list. */
  passes?: string;
  verifyEach?: boolean;
  printAfter?: string[];
  onPrint?: PassManagerOptions['onPrint'];
  onPass?: PassManagerOptions['onPass'];
  /** Keep each pass's wall time in the plan (it then differs run to run). */
  timings?: boolean;
  /** Records each phase's time and memory. */
  profile?: Profile;
  /** 'int8' / 'int4': MatMul/Gemm weights quantized (quantize.ts); 'fp16': float16 weights, and compute (fp16.ts). */
  precision?: Precision;
  /** Node or weight names (globs with `*`) kept in float32 under `precision`. */
  keepFp32?: string[];
  /** fp16: compute in float16 or only store weights in float16 (default: what the EP's table says). */
  fp16?: Fp16Mode;
  /** Graph inputs and outputs in float16 instead of float32. */
  ioDtype?: 'fp32' | 'fp16';
}

export type Fp16Mode = 'storage' | 'compute';

export interface OrtCompileResult {
  model: Model;
  plan: Plan;
  passes: PassRecord[];
}

/** `name=1x4x64x64` -> ['name', [1, 4, 64, 64]]. */
export function parseShapeSpec(spec: string): [string, number[]] {
  const m = /^(.+)=(\d+(?:x\d+)*|)$/.exec(spec.trim());
  if (!m) throw new MsgraphError('usage', `--shape ${JSON.stringify(spec)}: expected name=DIMxDIMx... (for example sample=1x4x64x64)`);
  const dims = m[2] === '' ? [] : m[2]!.split('x').map(Number);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new MsgraphError('usage', `--shape ${spec}: dims must be non-negative integers`);
  return [m[1]!, dims];
}

export function specializeInputs(model: Model, shapes: Record<string, number[]>): void {
  for (const [name, dims] of Object.entries(shapes)) {
    const v = model.graph.inputs.find((x) => x.name === name && !x.const);
    if (!v) throw new MsgraphError('usage', `--shape ${name}: the model has no input ${name}`, { hint: `inputs: ${model.graph.inputs.filter((x) => !x.const).map((x) => x.name).join(', ')}` });
    const t = v.type?.kind === 'tensor' ? v.type : null;
    if (t?.shape && t.shape.length !== dims.length) throw new MsgraphError('usage', `--shape ${name}: rank ${dims.length}, but the input has rank ${t.shape.length}`);
    t?.shape?.forEach((d, i) => {
      if (typeof d === 'number' && d !== dims[i]) throw new MsgraphError('usage', `--shape ${name}: dim ${i} is ${d} in the model, not ${dims[i]}`);
    });
    v.type = tensorType(t?.dtype ?? null, dims);
  }
}

/** The precision passes the options ask for, in order. */
function precisionPasses(precision: Precision, ep: Ep, opts: OrtCompileOptions): string[] {
  const io16 = opts.ioDtype === 'fp16';
  if (precision === 'fp32') {
    if (io16) throw new MsgraphError('usage', '--io-dtype fp16 needs --precision fp16, int8 or int4');
    return [];
  }
  if (precision === 'int8' || precision === 'int4') return [`quantize-${precision}`, ...(io16 ? ['half-io'] : [])];
  const mode = opts.fp16 ?? (EP_CAPABILITIES[ep]?.fp16Compute ? 'compute' : 'storage');
  // After float16 compute, the weights the float32 islands read (norm scales, frequency tables) are stored in
  // float16 too; compute-fp16 makes the I/O float16 itself.
  return mode === 'compute' ? ['compute-fp16', 'store-fp16'] : ['store-fp16', ...(io16 ? ['half-io'] : [])];
}

/** One record from the precision passes' reports: counts and byte sizes add up, lists join, the first word wins. */
function mergeReports(reports: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const r of reports) {
    for (const [k, v] of Object.entries(r)) {
      const have = out[k];
      if (have === undefined) out[k] = Array.isArray(v) ? [...v] : v;
      else if (typeof have === 'number' && typeof v === 'number') out[k] = have + v;
      else if (Array.isArray(have) && Array.isArray(v)) have.push(...v);
    }
  }
  return out;
}

export function compileForOrt(model: Model, opts: OrtCompileOptions = {}): OrtCompileResult {
  const opset = model.onnxOpset;
  const ep = opts.ep ?? 'cpu';
  const shapes = opts.shapes ?? {};
  const prof = opts.profile ?? new Profile(false);
  prof.run('specialise inputs', () => specializeInputs(model, shapes));
  const passes = parsePassList(opts.passes ?? 'default');
  const fusions = passes.filter((p) => MINDSPORE_ONLY_FUSIONS.includes(p));
  if (fusions.length) {
    throw new MsgraphError('unsupported', `${fusions.join(', ')}: the ONNX Runtime target does not take these fusions (the MindSpore backend uses them)`, { hint: '--passes default' });
  }
  const precision = opts.precision ?? 'fp32';
  const target = [...(passes.length ? ORT_LOWERING : []), ...precisionPasses(precision, ep, opts)];
  // --print-after may name a dialect pass or a target pass.
  checkPassNames(opts.printAfter ?? [], new Map([...PASSES, ...ORT_TARGET_PASSES]));
  const manager = { ep, opset, keepFp32: opts.keepFp32 ?? [], io16: opts.ioDtype === 'fp16', verifyEach: opts.verifyEach, printAfter: opts.printAfter, onPrint: opts.onPrint, onPass: opts.onPass, profile: prof };
  let records: PassRecord[] = [];
  if (passes.length) {
    prof.run('to the mint dialect', () => toMint(model));
    const inference = new InferenceCache(model, prof.run('shape inference', () => inferShapes(model)));
    records = runPasses(model, passes, { ...manager, inference });
  }
  const targetRecords = runPasses(model, target, { ...manager, registry: ORT_TARGET_PASSES });
  const lowered = targetRecords.filter((r) => ORT_LOWERING.includes(r.name));
  const lowering = lowered.length ? Object.assign({}, ...lowered.map((r) => r.stats)) as Record<string, number> : undefined;
  const reports = targetRecords.filter((r) => !ORT_LOWERING.includes(r.name)).map((r) => r.report ?? {});
  const quantization = reports.length ? mergeReports(reports) : undefined;
  // Graph outputs keep their types; intermediate ones are refreshed after lowering.
  prof.run('shape inference (lowered)', () => inferShapes(model));
  const plan = prof.run('plan', () => buildPlan(model, { ep, generator: `msgraph ${VERSION}`, specialized: shapes, passes: records, lowering, timings: opts.timings, ...(quantization ? { precision: { mode: precision, ...quantization } } : {}) }));
  stripInt64ValueTypes(model, ep);
  return { model, plan, passes: records };
}
