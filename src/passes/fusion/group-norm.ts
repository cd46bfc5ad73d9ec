/**
 * GroupNorm from torch's export: Reshape(x, [N, G, -1]) -> InstanceNormalization(ones[G], zeros[G]) -> Reshape back to
 * x's shape -> Mul(weight[C,1,..]) -> Add(bias[C,1,..]) becomes one `mint.nn.functional.group_norm` node with
 * per-channel weight and bias (opset-21 GroupNormalization semantics). Without the Mul/Add it fuses with unit weight
 * and zero bias. A near-miss says which condition failed.
 */
import type { Graph } from '../../ir/graph.js';
import type { Node } from '../../ir/node.js';
import { Tensor } from '../../ir/tensor.js';
import { Value } from '../../ir/value.js';
import { fromTensor, num } from '../../ir/array.js';
import type { Pass } from '../pass.js';
import { result } from '../pass.js';
import { constantsOf, replaceWithNode, scopedName, soleUser } from '../util.js';

export const GROUP_NORM_OP = 'mint.nn.functional.group_norm';

type ConstOf = (v: Value | null | undefined) => Tensor | null;

export interface GroupNormReport {
  fused: number;
  nearMisses: { node: string; reason: string }[];
}

export function fuseGroupNorm(g: Graph, constOf: ConstOf): GroupNormReport {
  const report: GroupNormReport = { fused: 0, nearMisses: [] };
  for (const n of [...g]) {
    if (n.op !== 'msgraph.instance_norm' || n.graph !== g) continue;
    const miss = (reason: string) => report.nearMisses.push({ node: n.name, reason });
    const r1 = n.inputs[0]?.producer;
    const scale = constOf(n.inputs[1]);
    const shift = constOf(n.inputs[2]);
    if (!r1 || r1.op !== 'mint.reshape' || soleUser(n.inputs[0], g) !== n) continue; // a plain instance norm
    if (!scale || !shift || !num(fromTensor(scale)).every((v) => v === 1) || !num(fromTensor(shift)).every((v) => v === 0)) {
      miss('the instance norm has its own scale/bias (not torch GroupNorm\'s ones/zeros)');
      continue;
    }
    const x = r1.inputs[0];
    const xs = x?.type?.kind === 'tensor' ? x.type.shape : null;
    if (!x || !xs || xs.length < 3 || typeof xs[1] !== 'number') {
      miss('the channel count of the input is not static');
      continue;
    }
    const channels = xs[1];
    const groups = scale.dims[0]!;
    const r2 = soleUser(n.outputs[0], g);
    const ys = r2?.outputs[0]?.type?.kind === 'tensor' ? r2.outputs[0].type.shape : null;
    if (!r2 || r2.op !== 'mint.reshape' || !ys || ys.length !== xs.length || ys.some((d, i) => d === null || d !== xs[i])) {
      miss('the instance norm is not reshaped back to the input\'s shape');
      continue;
    }
    const nodes = [r1, n, r2];
    let out = r2.outputs[0]!;
    const affine = (node: Node | null, cur: Value, op: string): [Float32Array, Node] | null => {
      if (!node || node.op !== op) return null;
      const other = node.inputs[0] === cur ? node.inputs[1] : node.inputs[0];
      const t = constOf(other);
      if (!t || t.size !== channels || t.dims[0] !== channels || t.dims.length !== xs.length - 1 || t.dtype.name !== 'float32') return null;
      return [Float32Array.from(num(fromTensor(t))), node];
    };
    const w = affine(soleUser(out, g), out, 'mint.mul');
    const b = w ? affine(soleUser(w[1].outputs[0], g), w[1].outputs[0]!, 'mint.add') : null;
    let weight: Float32Array = new Float32Array(channels).fill(1);
    let bias: Float32Array = new Float32Array(channels);
    if (w && b) {
      weight = w[0];
      bias = b[0];
      nodes.push(w[1], b[1]);
      out = b[1].outputs[0]!;
    }
    const f32 = scale.dtype;
    const wName = w && b ? (w[1].inputs[0] === r2.outputs[0] ? w[1].inputs[1]! : w[1].inputs[0]!).name : `${n.name}_weight`;
    const bName = w && b ? (b[1].inputs[0] === w[1].outputs[0] ? b[1].inputs[1]! : b[1].inputs[0]!).name : `${n.name}_bias`;
    const wv = g.addInitializer(new Value(wName), Tensor.fromArray(f32, [channels], weight, wName));
    const bv = g.addInitializer(new Value(bName), Tensor.fromArray(f32, [channels], bias, bName));
    wv.type = { kind: 'tensor', dtype: f32, shape: [channels] };
    bv.type = { kind: 'tensor', dtype: f32, shape: [channels] };
    const eps = Number(n.attrs.get('epsilon')?.value ?? 1e-5);
    replaceWithNode(g, {
      op: GROUP_NORM_OP, name: scopedName(n, 'GroupNorm'), inputs: [x, wv, bv],
      attrs: [
        ['num_groups', { type: 'int', value: groups }], ['epsilon', { type: 'float', value: eps }],
        // No Mul/Add followed: torch's GroupNorm(affine=False). Lowering drops this marker.
        ...(w && b ? [] : [['affine', { type: 'int', value: 0 }] as [string, { type: 'int'; value: number }]]),
      ],
    }, out, nodes[nodes.length - 1]!, nodes, n);
    report.fused++;
  }
  return report;
}

export const fuseGroupNormPass: Pass = {
  name: 'fuse-group-norm',
  description: 'GroupNorm from Reshape -> InstanceNormalization -> Reshape -> Mul -> Add',
  run(model) {
    const r = fuseGroupNorm(model.graph, constantsOf(model));
    return { ...result({ group_norm: r.fused }), nearMisses: r.nearMisses };
  },
};
