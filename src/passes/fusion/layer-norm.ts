/**
 * LayerNorm from its decomposed export: mean = ReduceMean(x, axes); d = x - mean; var = ReduceMean(d^2, axes);
 * y = d / sqrt(var + eps) [* gamma] [+ beta], over the trailing axes, becomes one `mint.nn.functional.layer_norm`
 * (ONNX LayerNormalization semantics: axis = first normalised axis). Gamma and beta must be constants over the
 * normalised dims.
 */
import type { Graph } from '../../ir/graph.js';
import type { Node } from '../../ir/node.js';
import { Tensor } from '../../ir/tensor.js';
import { Value } from '../../ir/value.js';
import { fromTensor, num } from '../../ir/array.js';
import type { Pass } from '../pass.js';
import { result } from '../pass.js';
import { constantsOf, replaceWithNode, scopedName, soleUser } from '../util.js';

export const LAYER_NORM_OP = 'mint.nn.functional.layer_norm';

type ConstOf = (v: Value | null | undefined) => Tensor | null;

export function fuseLayerNorm(g: Graph, constOf: ConstOf): { fused: number; nearMisses: { node: string; reason: string }[] } {
  const report = { fused: 0, nearMisses: [] as { node: string; reason: string }[] };
  const scalar = (v: Value | null | undefined) => {
    const t = constOf(v);
    return t && t.size === 1 ? num(fromTensor(t))[0]! : null;
  };
  const axesOf = (n: Node, rank: number) => {
    const a = n.attrs.get('axes');
    return a?.type === 'ints' ? a.value.map((x) => (Number(x) < 0 ? Number(x) + rank : Number(x))).sort((p, q) => p - q) : null;
  };
  for (const mean of [...g]) {
    if (mean.op !== 'mint.mean' || mean.graph !== g || Number(mean.attrs.get('keepdims')?.value ?? 1) !== 1) continue;
    const x = mean.inputs[0];
    const rank = x?.type?.kind === 'tensor' ? x.type.shape?.length ?? null : null;
    if (!x || rank === null) continue;
    const axes = axesOf(mean, rank);
    // Trailing axes only (LayerNormalization normalises from `axis` to the end).
    if (!axes || !axes.length || axes.some((a, i) => a !== rank - axes.length + i)) continue;
    const sub = mean.outputs[0]!.uses.map((u) => u.node).find((n) => n.op === 'mint.sub' && n.inputs[0] === x && n.inputs[1] === mean.outputs[0]);
    if (!sub || mean.outputs[0]!.uses.length !== 1) continue;
    const miss = (reason: string) => report.nearMisses.push({ node: mean.name, reason });
    const d = sub.outputs[0]!;
    const users = d.uses.map((u) => u.node);
    const pow = users.find((n) => n.op === 'mint.pow' && n.inputs[0] === d && scalar(n.inputs[1]) === 2);
    const mul = users.find((n) => n.op === 'mint.mul' && n.inputs[0] === d && n.inputs[1] === d);
    const sq = pow ?? mul;
    const div = users.find((n) => n.op === 'mint.div' && n.inputs[0] === d);
    if (!sq || !div || users.length !== (mul ? 3 : 2)) {
      miss('x - mean is not both squared and divided');
      continue;
    }
    const mean2 = soleUser(sq.outputs[0], g);
    const add = mean2 ? soleUser(mean2.outputs[0], g) : null;
    const sqrt = add ? soleUser(add.outputs[0], g) : null;
    if (!mean2 || mean2.op !== 'mint.mean' || JSON.stringify(axesOf(mean2, rank)) !== JSON.stringify(axes) || !add || add.op !== 'mint.add' || !sqrt || sqrt.op !== 'mint.sqrt' || div.inputs[1] !== sqrt.outputs[0]) {
      miss('the variance is not mean((x - mean)^2) over the same axes, plus eps, square-rooted');
      continue;
    }
    const eps = scalar(add.inputs[1]) ?? scalar(add.inputs[0]);
    if (eps === null) {
      miss('epsilon is not a constant');
      continue;
    }
    const nodes: Node[] = [mean, sub, sq, mean2, add, sqrt, div];
    let out = div.outputs[0]!;
    const normShape = x.type?.kind === 'tensor' ? x.type.shape!.slice(rank - axes.length) : [];
    const affine = (op: string): { t: Tensor; node: Node; value: Value } | null => {
      const n = soleUser(out, g);
      if (!n || n.op !== op) return null;
      const other = n.inputs[0] === out ? n.inputs[1] : n.inputs[0];
      const t = constOf(other);
      if (!t || !other || t.dtype.kind !== 'float' || t.size !== normShape.reduce<number>((s, v) => s * (typeof v === 'number' ? v : NaN), 1)) return null;
      return { t, node: n, value: other };
    };
    const gamma = affine('mint.mul');
    if (gamma) {
      nodes.push(gamma.node);
      out = gamma.node.outputs[0]!;
    }
    const beta = affine('mint.add');
    if (beta) {
      nodes.push(beta.node);
      out = beta.node.outputs[0]!;
    }
    if (normShape.some((v) => typeof v !== 'number')) {
      miss('the normalised dims are not static');
      continue;
    }
    const dims = normShape as number[];
    const dtype = x.type?.kind === 'tensor' && x.type.dtype ? x.type.dtype : null;
    if (!dtype) continue;
    // The parameters keep the names of the constants they came from (state_dict names where the exporter kept them).
    const param = (t: Tensor | null, fill: number, src: Value | null, suffix: string) => {
      const name = src?.name ?? `${mean.name}_${suffix}`;
      const data = t ? Float32Array.from(num(fromTensor(t))) : new Float32Array(dims.reduce((s, v) => s * v, 1)).fill(fill);
      const v = g.addInitializer(new Value(name), Tensor.fromArray(dtype, dims, data, name));
      v.type = { kind: 'tensor', dtype, shape: [...dims] };
      return v;
    };
    if (dtype.name !== 'float32') {
      miss('only float32 layer norms are fused');
      continue;
    }
    const w = param(gamma?.t ?? null, 1, gamma?.value ?? null, 'weight');
    const b = beta ? param(beta.t, 0, beta.value, 'bias') : null;
    replaceWithNode(g, {
      op: LAYER_NORM_OP, name: scopedName(mean, 'LayerNormalization'), inputs: b ? [x, w, b] : [x, w],
      attrs: [['axis', { type: 'int', value: rank - axes.length }], ['epsilon', { type: 'float', value: eps }]],
    }, out, nodes[nodes.length - 1]!, nodes, mean);
    report.fused++;
  }
  return report;
}

export const fuseLayerNormPass: Pass = {
  name: 'fuse-layer-norm',
  description: 'LayerNorm from ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div [/Mul/Add]',
  run(model) {
    const r = fuseLayerNorm(model.graph, constantsOf(model));
    return { ...result({ layer_norm: r.fused }), nearMisses: r.nearMisses };
  },
};
