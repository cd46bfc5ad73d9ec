/** Helpers shared by passes. */
import type { Model } from '../ir/model.js';
import type { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';

/**
 * Initializers and Constant-node outputs of the main graph, by value, seen through Identity (torch aliases shared
 * initializers with Identity nodes named after each parameter).
 */
export function constantsOf(model: Model): (v: Value | null | undefined) => Tensor | null {
  const map = new Map<Value, Tensor>();
  for (const n of model.graph) {
    const out = n.outputs[0];
    if (!out) continue;
    if (n.op === 'Constant' || n.op === 'msgraph.constant') {
      const a = n.attrs.get('value');
      if (a?.type === 'tensor') map.set(out, a.value);
    } else if ((n.op === 'Identity' || n.op === 'msgraph.identity') && n.inputs[0]) {
      const t = n.inputs[0].const ?? map.get(n.inputs[0]);
      if (t) map.set(out, t);
    }
  }
  return (v) => (v ? v.const ?? map.get(v) ?? null : null);
}
