/**
 * fp16 compute (`--precision fp16` on an EP with float16 kernels, `--fp16 compute` anywhere): weights and
 * activations in float16, with float32 islands where float16 loses accuracy, and casts only at the islands' edges.
 *
 * Each node of the lowered ONNX graph runs in one of two precisions, decided in topological order:
 * - the heavy ops (MatMul, Gemm, convolutions, attention, embedding gathers) run in float16 unless `keep` names them;
 * - the islands run in float32: softmax, reductions (sums and means over many elements), exp/log/pow, sin/cos and
 *   the ranges and cumulative sums that feed them (timestep embeddings: `t * freq` with t near 1000 is off by up to
 *   0.25 rad in float16), and InstanceNormalization (its variance has no float32 stash); the LayerNormalization
 *   family runs in float16 because its statistics are computed in float32 by definition (`stash_type` 1);
 * - every other op follows its operands: float16 when one of its non-constant float operands is float16, float32
 *   otherwise, so the element-wise tail of an island (eps, sqrt, the norm's affine, an activation) stays float32
 *   up to the next heavy op instead of casting back and forth.
 * A float32 constant read in float16 gets a float16 copy, clamped to float16's range (an additive mask of
 * -3.4e38 becomes -65504, not -inf, so a fully masked row does not turn into NaN). Graph inputs and outputs keep
 * their dtype unless `io16`, in which case float32 ones become float16.
 */
import { MsgraphError } from '../../errors.js';
import type { Graph } from '../../ir/graph.js';
import type { Model } from '../../ir/model.js';
import { Node } from '../../ir/node.js';
import { Tensor } from '../../ir/tensor.js';
import type { Value } from '../../ir/value.js';
import { dtypeFromName, type DType } from '../../ir/dtype.js';
import { floatToHalf } from '../../ir/array.js';
import { HALF_MAX, matchesAny } from './quantize.js';

const F32 = dtypeFromName('float32')!;
const F16 = dtypeFromName('float16')!;

/** Run in float16 (unless kept). */
const HEAVY = new Set([
  'MatMul', 'Gemm', 'Conv', 'ConvTranspose', 'Einsum', 'Attention', 'MultiHeadAttention', 'GroupQueryAttention',
  'FusedConv', 'FusedMatMul', 'FusedGemm',
]);

/** Run in float32. */
const ISLANDS = new Set([
  'Softmax', 'LogSoftmax', 'ReduceMean', 'ReduceSum', 'ReduceSumSquare', 'ReduceL1', 'ReduceL2', 'ReduceLogSum',
  'ReduceLogSumExp', 'ReduceProd', 'Exp', 'Log', 'Pow', 'Sin', 'Cos', 'Range', 'CumSum', 'InstanceNormalization',
  'GroupNormalization', 'LpNormalization', 'MeanVarianceNormalization', 'Softplus', 'Mish',
]);

/** Read any dtype and do not compute on it: their float inputs are left as they are. */
const ANY_INPUT = new Set(['Shape', 'Size', 'Cast', 'CastLike']);

/** Ops whose output dtype is not their float input's, or that have no float16 form here: float32 in and out. */
const FP32_ONLY = new Set([
  'EyeLike', 'RandomNormalLike', 'RandomUniformLike', 'Bernoulli', 'Multinomial', 'QuantizeLinear', 'DequantizeLinear',
  'DynamicQuantizeLinear', 'DynamicQuantizeMatMul', 'MatMulIntegerToFloat', 'MatMulNBits', 'If', 'Loop', 'Scan',
  // Recurrences carry their state through every step (and onnxruntime's cpu kernels are float32).
  'LSTM', 'GRU', 'RNN',
]);

/** Float inputs that keep their own dtype whatever the node runs in (sizes, scales and regions of interest). */
const OWN_DTYPE: Record<string, readonly number[]> = { Resize: [1, 2], Upsample: [1], GridSample: [] };

export interface Fp16ComputeReport {
  compute: 'fp16';
  /** Nodes running in float16 / float32. */
  fp16_nodes: number;
  fp32_nodes: number;
  /** Casts inserted (each island edge, graph inputs and outputs). */
  casts: number;
  /** Float32 weights stored in float16. */
  converted: number;
  /** Constants past float16's range that were clamped to it. */
  clamped: string[];
  /** Heavy nodes kept in float32 by `keep`. */
  kept: string[];
  io: 'fp32' | 'fp16';
  weight_bytes_fp32: number;
  weight_bytes_fp16: number;
}

const dtypeOf = (v: Value): DType | null => (v.type?.kind === 'tensor' ? v.type.dtype : null);
const withDtype = (v: Value, dtype: DType) => ({ ...(v.type as { kind: 'tensor' }), dtype }) as Value['type'];
const isFloat = (v: Value | null): v is Value => !!v && (dtypeOf(v) === F32 || dtypeOf(v) === F16);

/** The node of `g` that holds `n` (itself, or the If/Loop/Scan whose subgraph it is in). */
function topLevel(g: Graph, n: Node): Node | null {
  let cur: Node | null = n;
  while (cur && cur.graph !== g) cur = cur.graph?.parent ?? null;
  return cur;
}

export function computeFp16(model: Model, keep: readonly string[] = [], io16 = false): Fp16ComputeReport {
  const g = model.graph;
  const report: Fp16ComputeReport = { compute: 'fp16', fp16_nodes: 0, fp32_nodes: 0, casts: 0, converted: 0, clamped: [], kept: [], io: io16 ? 'fp16' : 'fp32', weight_bytes_fp32: 0, weight_bytes_fp16: 0 };
  const untyped = [...g].find((n) => !ANY_INPUT.has(n.op) && [...n.inputs, ...n.outputs].some((v) => v && !v.const && !dtypeOf(v) && v.type?.kind !== 'sequence' && v.type?.kind !== 'optional' && v.type?.kind !== 'map'));
  if (untyped) throw new MsgraphError('unsupported', `fp16 compute needs the dtype of every value; node ${JSON.stringify(untyped.name || untyped.op)} (${untyped.op}) has a value of unknown dtype`);
  if (io16) {
    for (const v of g.inputs) if (!v.const && dtypeOf(v) === F32) v.type = withDtype(v, F16);
  }

  /** Casts made so far: value -> its copy in the other float dtype. */
  const casts = new Map<Value, Value>();
  const makeCast = (v: Value, to: DType): Node => {
    const tag = to === F16 ? 'fp16' : 'fp32';
    const cast = new Node({ op: 'Cast', name: `${v.name}/to_${tag}`, inputs: [v], attrs: [['to', { type: 'int', value: to.onnx }]] });
    cast.outputs[0]!.name = `${v.name}_${tag}`;
    cast.outputs[0]!.type = withDtype(v, to);
    report.casts++;
    return cast;
  };
  /** The value in dtype `to`, cast once, before its first reader `before`. */
  const castOf = (v: Value, to: DType, before: Node): Value => {
    let c = casts.get(v);
    if (!c) {
      c = g.insertBefore(before, makeCast(v, to)).outputs[0]!;
      casts.set(v, c);
    }
    return c;
  };
  /** Float16 copies of float32 constants. */
  const halves = new Map<Value, Value>();
  const halfOf = (v: Value): Value => {
    let h = halves.get(v);
    if (h) return h;
    const x = v.const!.toArray() as Float32Array;
    const out = new Uint16Array(x.length);
    let clamped = false;
    for (let i = 0; i < x.length; i++) {
      const e = x[i]!;
      const c = Number.isFinite(e) && Math.abs(e) > HALF_MAX ? Math.sign(e) * HALF_MAX : e;
      clamped ||= c !== e;
      out[i] = floatToHalf(c);
    }
    if (clamped) report.clamped.push(v.name);
    h = g.addConstant(`${v.name}_fp16`, Tensor.fromArray(F16, [...v.const!.dims], out));
    h.type = { kind: 'tensor', dtype: F16, shape: [...v.const!.dims] };
    halves.set(v, h);
    report.converted++;
    report.weight_bytes_fp32 += v.const!.nbytes;
    report.weight_bytes_fp16 += v.const!.nbytes / 2;
    return h;
  };

  const outer = outerUses(g);
  for (const n of [...g]) {
    const floats = n.inputs.map((v, i) => (isFloat(v) && !(OWN_DTYPE[n.op] ?? []).includes(i) ? i : -1)).filter((i) => i >= 0);
    let half: boolean;
    if (n.domain !== '' && n.domain !== 'com.microsoft') half = false;
    else if (ANY_INPUT.has(n.op)) half = false;
    else if (FP32_ONLY.has(n.op) || ISLANDS.has(n.op) || n.subgraphs().length) half = false;
    else if (HEAVY.has(n.op) || (n.op === 'Gather' && n.inputs[0]?.const && dtypeOf(n.inputs[0]) === F32)) {
      half = !matchesAny([n.name, ...n.inputs.filter((v) => v?.const).map((v) => v!.name)], keep);
      if (!half) report.kept.push(n.name || n.op);
    } else half = floats.some((i) => !n.inputs[i]!.const && dtypeOf(n.inputs[i]!) === F16);
    if (!ANY_INPUT.has(n.op)) {
      for (const i of floats) {
        const v = n.inputs[i]!;
        const want = half ? F16 : F32;
        if (v.const) {
          if (half && dtypeOf(v) === F32) n.replaceInput(i, halfOf(v));
        } else if (dtypeOf(v) !== want) n.replaceInput(i, castOf(v, want, n));
      }
      // Values an If/Loop/Scan body reads from this graph: float32, as the body was typed.
      for (const v of outer.get(n) ?? []) {
        if (dtypeOf(v) !== F16) continue;
        const c = castOf(v, F32, n);
        for (const u of [...v.uses]) if (u.node.graph !== g && topLevel(g, u.node) === n) u.node.replaceInput(u.index, c);
      }
    }
    if (half) {
      for (const o of n.outputs) if (o && dtypeOf(o) === F32) o.type = withDtype(o, F16);
      report.fp16_nodes++;
    } else if (!ANY_INPUT.has(n.op)) report.fp32_nodes++;
  }
  // Graph outputs keep their name and (unless io16) their dtype.
  for (let i = 0; i < g.outputs.length; i++) {
    const v = g.outputs[i]!;
    const to = io16 ? F16 : F32;
    if (v.const || !isFloat(v) || dtypeOf(v) === to) continue;
    // An island may already read it through a cast to that dtype: that cast's value becomes the output.
    const c = casts.get(v) ?? g.append(makeCast(v, to)).outputs[0]!;
    const name = v.name;
    v.name = `${name}_${to === F16 ? 'fp32' : 'fp16'}`;
    c.name = name;
    g.outputs[i] = c;
  }
  for (const v of halves.keys()) if (v.uses.length === 0 && !g.outputs.includes(v)) g.removeInitializer(v);
  return report;
}

/** For each If/Loop/Scan of `g`: the values of `g` its subgraphs read. */
function outerUses(g: Graph): Map<Node, Set<Value>> {
  const m = new Map<Node, Set<Value>>();
  for (const n of g) {
    if (!n.subgraphs().length) continue;
    const inner = new Set<Node>();
    for (const s of n.subgraphs()) for (const x of s.allNodes()) inner.add(x);
    const read = new Set<Value>();
    for (const x of inner) {
      for (const v of x.inputs) {
        if (!v) continue;
        const p = v.producer;
        const fromG = p ? p.graph === g : g.inputs.includes(v) || g.initializers.includes(v);
        if (fromG) read.add(v);
      }
    }
    m.set(n, read);
  }
  return m;
}

/**
 * `--io-dtype fp16` for a plan that computes in float32 (int8, fp16 storage): float32 graph inputs become float16 and
 * are cast up where they are read; float32 outputs are cast down, under their own names. Returns the casts added.
 */
export function halfIo(model: Model): number {
  const g = model.graph;
  let casts = 0;
  const first = g.first;
  for (const v of g.inputs) {
    if (v.const || dtypeOf(v) !== F32 || !first) continue;
    v.type = withDtype(v, F16);
    const readers = [...v.uses];
    const cast = new Node({ op: 'Cast', name: `${v.name}/to_fp32`, inputs: [v], attrs: [['to', { type: 'int', value: F32.onnx }]] });
    const up = cast.outputs[0]!;
    up.name = `${v.name}_fp32`;
    up.type = withDtype(v, F32);
    for (const u of readers) u.node.replaceInput(u.index, up);
    g.insertBefore(first, cast);
    casts++;
  }
  for (let i = 0; i < g.outputs.length; i++) {
    const v = g.outputs[i]!;
    if (v.const || dtypeOf(v) !== F32) continue;
    const cast = g.append(new Node({ op: 'Cast', name: `${v.name}/to_fp16`, inputs: [v], attrs: [['to', { type: 'int', value: F16.onnx }]] }));
    const down = cast.outputs[0]!;
    down.type = withDtype(v, F16);
    down.name = v.name;
    v.name = `${down.name}_fp32`;
    g.outputs[i] = down;
    casts++;
  }
  return casts;
}
