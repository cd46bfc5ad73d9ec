/** Small graph-building helpers for the ONNX Runtime lowering: constants and nodes inserted before a given node. */
import type { Attribute } from '../../ir/attribute.js';
import type { Graph } from '../../ir/graph.js';
import { Node } from '../../ir/node.js';
import { Tensor } from '../../ir/tensor.js';
import { Value } from '../../ir/value.js';
import { dtypeFromName } from '../../ir/dtype.js';

const F32 = dtypeFromName('float32')!;
const I64 = dtypeFromName('int64')!;

/** A float32 scalar initializer. */
export function f32Scalar(g: Graph, name: string, x: number): Value {
  const v = g.addInitializer(new Value(name), Tensor.fromArray(F32, [], new Float32Array([x]), name));
  v.type = { kind: 'tensor', dtype: F32, shape: [] };
  return v;
}

/** A 1-D int64 initializer (shapes, slice bounds). */
export function int64s(g: Graph, name: string, xs: number[]): Value {
  const v = g.addInitializer(new Value(name), Tensor.fromArray(I64, [xs.length], BigInt64Array.from(xs.map(BigInt)), name));
  v.type = { kind: 'tensor', dtype: I64, shape: [xs.length] };
  return v;
}

/** Inserts single-output nodes (mint dialect by default, or another domain) before `at`, named under `base`. */
export function nodesBefore(g: Graph, at: Node, base: string) {
  let step = 0;
  return (op: string, inputs: (Value | null)[], attrs: [string, Attribute][] = [], domain = 'mint'): Value => {
    const tag = `${base}/${op.split('.').pop()}_${step++}`;
    const x = new Node({ op, domain, name: tag, inputs, outputs: 1, attrs });
    x.outputs[0]!.name = `${tag}_output`;
    g.insertBefore(at, x);
    return x.outputs[0]!;
  };
}

/** `n`'s output now comes from `out`, under the same name and type; `n` is removed. */
export function takeOver(g: Graph, n: Node, out: Value): void {
  out.type = n.outputs[0]!.type;
  g.replaceAllUsesWith(n.outputs[0]!, out);
  out.name = n.outputs[0]!.name;
  g.remove(n);
}
