/**
 * Half precision for a port (`--dtype float16|bfloat16`), as a hand port runs it: weights and activations in the
 * half type, with float32 islands where half loses accuracy, and casts only at the islands' edges.
 *
 * Each node runs in one of two precisions, decided in order:
 * - the heavy ops (matmuls, convolutions, attention, embedding lookups) run in half;
 * - the islands run in float32: softmax, norms (GroupNorm, LayerNorm, RMSNorm, InstanceNorm; their weights stay
 *   float32), reductions, exp/log/pow, sin/cos and the aranges that feed them (a timestep embedding: `t * freq`
 *   with t near 1000 is off by up to 0.25 rad in float16);
 * - every other op follows its operands: half when one of its non-constant float operands is half, else float32.
 * A float constant read only in half is stored in half (a layer's weight, under its own name); one also read in
 * float32 stays float32 and is cast where half reads it. Graph inputs keep their dtype (a scheduler's float32
 * timestep), and are cast where half compute reads them. Integer and boolean values are untouched.
 */
import { Node } from '../../ir/node.js';
import type { Value } from '../../ir/value.js';
import { Tensor } from '../../ir/tensor.js';
import { type DType, dtypeFromName } from '../../ir/dtype.js';
import { floatToBf16, floatToHalf, fromTensor, make, num, toTensor } from '../../ir/array.js';
import { tensorType } from '../../ir/shape.js';
import type { Pass, PassResult } from '../pass.js';
import { constantsOf, scopedName } from '../util.js';

const F32 = dtypeFromName('float32')!;

const HEAVY = new Set([
  'mint.matmul', 'mint.addmm', 'mint.nn.functional.linear', 'mint.nn.functional.conv1d',
  'mint.nn.functional.conv2d', 'mint.nn.functional.conv3d', 'mint.nn.functional.conv_transpose2d', 'mint.einsum',
  'msgraph.scaled_dot_product_attention', 'msgraph.multi_head_attention',
]);

const ISLANDS = new Set([
  'mint.softmax', 'mint.nn.functional.log_softmax', 'mint.exp', 'mint.log', 'mint.pow', 'mint.sin', 'mint.cos',
  'mint.arange', 'mint.cumsum', 'msgraph.instance_norm', 'mint.nn.functional.group_norm', 'mint.nn.functional.layer_norm',
  'msgraph.rms_norm', 'mint.mean', 'mint.sum', 'mint.prod', 'msgraph.mean', 'msgraph.sum', 'mint.sqrt',
  'mint.nn.functional.batch_norm',
]);

/** Read any dtype without computing on it. */
const ANY_INPUT = new Set(['msgraph.shape', 'msgraph.size', 'ops.cast']);

const floatOf = (v: Value | null | undefined): DType | null => (v?.type?.kind === 'tensor' && v.type.dtype?.kind === 'float' ? v.type.dtype : null);

/** `t` in `dtype` (values rounded to it). */
function convert(t: Tensor, dtype: DType): Tensor {
  if (t.dtype === F32 && (dtype.name === 'float16' || dtype.name === 'bfloat16')) {
    // Straight from the float32 data (a weight of a large model has tens of millions of values).
    const src = t.toArray() as Float32Array;
    const out = new Uint16Array(src.length);
    const round = dtype.name === 'float16' ? floatToHalf : floatToBf16;
    for (let i = 0; i < src.length; i++) out[i] = round(src[i]!);
    return Tensor.fromBytes(dtype, t.dims, new Uint8Array(out.buffer), t.name);
  }
  const a = fromTensor(t);
  return toTensor(make(dtype, [...t.dims], Float64Array.from(num(a))), t.name);
}

export function toHalf(model: import('../../ir/model.js').Model, half: DType): PassResult {
  const g = model.graph;
  const constOf = constantsOf(model);
  const mode = new Map<Node, 'half' | 'f32'>();
  // Decide each node's precision.
  for (const n of g) {
    const floats = n.inputs.filter((v): v is Value => !!v && !constOf(v) && !!floatOf(v));
    const m = ANY_INPUT.has(n.op) ? 'f32' : HEAVY.has(n.op) || (n.op === 'mint.index_select' && floatOf(n.inputs[0]) && constOf(n.inputs[0])) ? 'half'
      : ISLANDS.has(n.op) ? 'f32' : floats.some((v) => floatOf(v) === half) ? 'half' : 'f32';
    mode.set(n, m);
    for (const o of n.outputs) {
      if (!o || !floatOf(o) || n.op === 'ops.cast') continue;
      o.type = tensorType(m === 'half' ? half : F32, o.type?.kind === 'tensor' ? o.type.shape : null);
    }
  }
  // Constants read only by half nodes are stored in half.
  let converted = 0;
  let casts = 0;
  const users = new Map<Value, Node[]>();
  for (const n of g) for (const v of n.inputs) if (v && constOf(v) && floatOf(v)) (users.get(v) ?? users.set(v, []).get(v)!).push(n);
  const halfConst = new Set<Value>();
  for (const [v, ns] of users) {
    if (!ns.every((n) => mode.get(n) === 'half' && !ANY_INPUT.has(n.op))) continue;
    // Only a constant's own storage changes: a value computed from one (an Identity of a weight, as exports write
    // for shared weights) keeps its producer's type and is cast where half reads it.
    if (!v.const && !(v.producer && (v.producer.op === 'Constant' || v.producer.op === 'msgraph.constant'))) continue;
    const t = constOf(v)!;
    if (t.dtype !== F32) continue;
    const h = convert(t, half);
    if (v.const) v.const = h;
    else if (v.producer) {
      const a = v.producer.attrs.get('value');
      if (a?.type === 'tensor') v.producer.setAttr('value', { type: 'tensor', value: h });
    }
    v.type = tensorType(half, v.type?.kind === 'tensor' ? v.type.shape : null);
    halfConst.add(v);
    converted++;
  }
  // Casts where a node reads a float value of the other precision.
  // One cast per value and precision, shared by its readers.
  const cache = new Map<Value, Map<DType, Value>>();
  for (const n of [...g]) {
    if (ANY_INPUT.has(n.op) && n.op !== 'ops.cast') continue;
    const want = mode.get(n) === 'half' ? half : F32;
    if (n.op === 'ops.cast') {
      // A cast to float32 in the model (BERT's mask) casts to the precision its readers run in.
      const to = floatOf(n.outputs[0]);
      if (to === F32 && n.outputs[0]!.uses.some((u) => mode.get(u.node) === 'half')) {
        n.setAttr('to', { type: 'int', value: half.onnx });
        n.outputs[0]!.type = tensorType(half, n.outputs[0]!.type?.kind === 'tensor' ? n.outputs[0]!.type.shape : null);
      }
      continue;
    }
    n.inputs.forEach((v, i) => {
      if (!v || halfConst.has(v)) return;
      const have = floatOf(v);
      if (!have || have === want || !floatOf(v)) return;
      // The index of an embedding lookup, a size, an integer: not ours to cast; a float operand is.
      const byType = cache.get(v) ?? cache.set(v, new Map()).get(v)!;
      let c = byType.get(want);
      if (!c) {
        const cast = new Node({ op: 'ops.cast', domain: 'mint', name: scopedName(n, `cast_${want.name}_${casts}`), inputs: [v], outputs: 1, attrs: [['to', { type: 'int', value: want.onnx }]] });
        for (const [k, x] of (v.producer ?? n).metadata) cast.metadata.set(k, x);
        cast.outputs[0]!.name = `${v.name}_${want.name}`;
        cast.outputs[0]!.type = tensorType(want, v.type?.kind === 'tensor' ? v.type.shape : null);
        g.insertBefore(n, cast);
        c = cast.outputs[0]!;
        byType.set(want, c);
        casts++;
      }
      n.replaceInput(i, c);
    });
  }
  return { modified: converted + casts > 0, stats: { half_weights: converted, casts } };
}

export const halfPrecision: Pass = {
  name: 'half-precision',
  description: 'weights and activations in float16/bfloat16 (--dtype), float32 islands for softmax, norms, reductions and sinusoids',
  run(model, ctx): PassResult {
    const half = dtypeFromName(ctx.dtype ?? 'float16');
    if (!half || half === F32 || half.kind !== 'float') return { modified: false, stats: {} };
    return toHalf(model, half);
  },
};
