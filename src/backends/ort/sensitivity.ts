/**
 * Where a reduced-precision plan loses accuracy: every float value the float32 plan and the reduced plan share by
 * name becomes an output of both, and each is compared by cosine similarity. Reports the first value (in the reduced
 * plan's order) below the bound, and the reduced layers (int8 or float16 matmuls, convolutions, attention) ranked
 * by how much similarity they lose between their inputs and their output: the ones to keep in float32.
 */
import type { Model } from '../../ir/model.js';
import type { Node } from '../../ir/node.js';
import type { Tensor } from '../../ir/tensor.js';
import type { Value } from '../../ir/value.js';
import { inferShapes } from '../../dialect/ops/infer.js';
import type { Ep } from './session.js';
import { runOnce } from './accuracy.js';
import { withOutputs } from './verify.js';
import { cosine } from './compare.js';
import { asFloatDtype } from './tensors.js';

export interface ValueAccuracy {
  value: string;
  node: string;
  op: string;
  cosine: number;
}

export interface LayerLoss {
  /** The name `--keep-fp32` takes for this layer (its node's name, or its weight's). */
  keep: string;
  node: string;
  op: string;
  /** Lowest similarity among its inputs, and its output's. */
  input_cosine: number;
  output_cosine: number;
}

export interface PerNodeAccuracy {
  /** Values compared. */
  values: number;
  firstBelow: ValueAccuracy | null;
  /** Reduced layers, most loss first. */
  layers: LayerLoss[];
}

const isFloat = (v: Value | null): v is Value => v?.type?.kind === 'tensor' && v.type.dtype?.kind === 'float';

/** The layers a precision mode reduced: int8/int4 matmuls, int8 embeddings, and the heavy ops computing in float16. */
const FP16_LAYERS = new Set(['MatMul', 'Gemm', 'Conv', 'ConvTranspose', 'Einsum', 'Attention', 'MultiHeadAttention', 'FusedConv', 'FusedMatMul', 'FusedGemm']);
function keepName(n: Node): string | null {
  const constName = n.inputs.find((v) => v?.const)?.name ?? '';
  // An int8 embedding ends in the Mul by its row scales, an int4 Gemm in the Add of its bias: each named after the
  // node (or weight) it replaced.
  const tail = /^(.+)_int[48]\/(Mul|Add)_\d+$/.exec(n.op === 'Mul' || n.op === 'Add' ? n.name : '');
  if (tail) return tail[1]!;
  if (n.op === 'DynamicQuantizeMatMul' || n.op === 'MatMulNBits') return (n.name || constName).replace(/_int[48]$/, '') || null;
  if (FP16_LAYERS.has(n.op) && n.outputs[0]?.type?.kind === 'tensor' && n.outputs[0].type.dtype?.name === 'float16') return n.name || constName.replace(/_fp16$/, '') || null;
  return null;
}

/** Both models are changed (outputs added): pass copies. */
export async function perNodeAccuracy(fp32: Model, reduced: Model, feeds: Map<string, Tensor>, ep: Ep, minCosine: number): Promise<PerNodeAccuracy> {
  inferShapes(fp32);
  inferShapes(reduced);
  const inA = new Set<string>();
  for (const n of fp32.graph) for (const o of n.outputs) if (isFloat(o)) inA.add(o.name);
  const outputs = new Set([...fp32.graph.outputs, ...reduced.graph.outputs].map((v) => v.name));
  const shared: { name: string; node: Node }[] = [];
  for (const n of reduced.graph) for (const o of n.outputs) if (isFloat(o) && inA.has(o.name) && !outputs.has(o.name)) shared.push({ name: o.name, node: n });
  const names = shared.map((s) => s.name);
  const a = await runOnce(withOutputs(fp32, names), feeds, ep);
  const b = await runOnce(withOutputs(reduced, names), feeds, ep);
  const cos = new Map<string, number>();
  for (const [name, t] of a) {
    const r = b.get(name);
    if (r) cos.set(name, cosine(t, asFloatDtype(r, t.dtype.name)));
  }
  const op = (n: Node) => (n.domain ? `${n.domain}.${n.op}` : n.op);
  let firstBelow: ValueAccuracy | null = null;
  for (const s of shared) {
    const c = cos.get(s.name)!;
    if (!(c >= minCosine)) {
      firstBelow = { value: s.name, node: s.node.name, op: op(s.node), cosine: c };
      break;
    }
  }
  // A value's similarity, looking through the casts a precision mode inserted; graph inputs are exact.
  const similarity = (v: Value): number => {
    for (let x: Value | null = v; x; x = x.producer?.op === 'Cast' ? x.producer.inputs[0] ?? null : null) {
      const c = cos.get(x.name);
      if (c !== undefined) return c;
    }
    return 1;
  };
  const layers: LayerLoss[] = [];
  for (const n of reduced.graph) {
    const keep = keepName(n);
    const out = n.outputs[0];
    if (!keep || !out || !cos.has(out.name)) continue;
    const ins = n.inputs.filter((v): v is Value => isFloat(v) && !v.const).map(similarity);
    layers.push({ keep, node: n.name, op: op(n), input_cosine: Math.min(1, ...ins), output_cosine: cos.get(out.name)! });
  }
  // NaN (a value that could not be compared) counts as no similarity.
  const loss = (l: LayerLoss) => (Number.isNaN(l.input_cosine) ? 0 : l.input_cosine) - (Number.isNaN(l.output_cosine) ? 0 : l.output_cosine);
  layers.sort((x, y) => loss(y) - loss(x));
  return { values: shared.length, firstBelow, layers };
}
