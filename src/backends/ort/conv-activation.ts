/**
 * Conv + activation -> com.microsoft.FusedConv on EPs that have it: a Conv whose only consumer is Relu, Tanh,
 * Sigmoid, LeakyRelu, HardSigmoid or a Clip with constant bounds becomes one FusedConv carrying the activation and
 * its parameters. Runs on the lowered ONNX graph (the op has no mint API; the MindSpore backend keeps two calls).
 */
import type { Attribute } from '../../ir/attribute.js';
import type { Model } from '../../ir/model.js';
import { Node } from '../../ir/node.js';
import type { Value } from '../../ir/value.js';
import { fromTensor, num } from '../../ir/array.js';
import { epSupports } from './capabilities.js';

const scalar = (v: Value | null | undefined): number | null => {
  const t = v?.const;
  return t && t.size === 1 ? num(fromTensor(t))[0]! : null;
};

/** The activation name and parameters FusedConv takes for `act`, or null. */
function activationOf(act: Node): { name: string; params: number[] } | null {
  const f = (k: string, d: number) => Number(act.attrs.get(k)?.value ?? d);
  switch (act.op) {
    case 'Relu':
    case 'Tanh':
    case 'Sigmoid':
      return { name: act.op, params: [] };
    case 'LeakyRelu':
      return { name: 'LeakyRelu', params: [f('alpha', 0.01)] };
    case 'HardSigmoid':
      return { name: 'HardSigmoid', params: [f('alpha', 0.2), f('beta', 0.5)] };
    case 'Clip': {
      // Opset 11+: bounds are inputs; before, attributes.
      const lo = act.inputs.length > 1 ? (act.inputs[1] ? scalar(act.inputs[1]) : -Infinity) : f('min', -3.4028234663852886e38);
      const hi = act.inputs.length > 2 ? (act.inputs[2] ? scalar(act.inputs[2]) : Infinity) : f('max', 3.4028234663852886e38);
      if (lo === null || hi === null) return null;
      return { name: 'Clip', params: [Math.max(lo, -3.4028234663852886e38), Math.min(hi, 3.4028234663852886e38)] };
    }
    default:
      return null;
  }
}

export function fuseConvActivation(model: Model, ep: string): number {
  if (!epSupports(ep, 'com.microsoft', 'FusedConv')) return 0;
  const g = model.graph;
  let fused = 0;
  for (const conv of [...g]) {
    if (conv.op !== 'Conv' || conv.domain !== '' || conv.graph !== g) continue;
    const y = conv.outputs[0]!;
    if (y.uses.length !== 1 || g.outputs.includes(y)) continue;
    const act = y.uses[0]!.node;
    if (act.domain !== '' || y.uses[0]!.index !== 0) continue;
    const a = activationOf(act);
    if (!a) continue;
    const attrs: [string, Attribute][] = [...conv.attrs].filter(([k]) => k !== 'activation');
    attrs.push(['activation', { type: 'string', value: a.name }]);
    if (a.params.length) attrs.push(['activation_params', { type: 'floats', value: a.params }]);
    const f = new Node({ op: 'FusedConv', domain: 'com.microsoft', name: conv.name, inputs: [...conv.inputs], outputs: 1, attrs });
    for (const [k, v] of conv.metadata) f.metadata.set(k, v);
    const out = f.outputs[0]!;
    out.name = act.outputs[0]!.name;
    out.type = act.outputs[0]!.type;
    g.insertBefore(conv, f);
    g.replaceAllUsesWith(act.outputs[0]!, out);
    g.remove([act, conv]);
    fused++;
  }
  if (fused) model.opsets.set('com.microsoft', model.opsets.get('com.microsoft') ?? 1);
  return fused;
}
