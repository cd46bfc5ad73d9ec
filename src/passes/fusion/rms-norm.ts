/**
 * RMSNorm from its decomposed export: x * rsqrt(mean(x^2, trailing axes) + eps) [* weight], with the square as Pow(x, 2)
 * or Mul(x, x) and rsqrt as Reciprocal(Sqrt(.)), Div(1, Sqrt(.)) or a Div of x by the Sqrt, becomes one
 * `msgraph.rms_norm` (SimplifiedLayerNormalization semantics: axis = first normalised axis). The weight must be a
 * constant over the normalised dims; without one, a weight of ones is created.
 */
import type { Graph } from '../../ir/graph.js';
import type { Node } from '../../ir/node.js';
import { Tensor } from '../../ir/tensor.js';
import { Value } from '../../ir/value.js';
import { fromTensor, num } from '../../ir/array.js';
import type { NearMiss, Pass } from '../pass.js';
import { result } from '../pass.js';
import { constantsOf, replaceWithNode, scopedName, soleUser } from '../util.js';

export const RMS_NORM_OP = 'msgraph.rms_norm';

/** The anchor is a mean of a square; once one is found, every way the rest fails to match is a near miss. */
export function fuseRmsNorm(g: Graph, constOf: (v: Value | null | undefined) => Tensor | null): { fused: number; nearMisses: NearMiss[] } {
  const scalar = (v: Value | null | undefined) => {
    const t = constOf(v);
    return t && t.size === 1 ? num(fromTensor(t))[0]! : null;
  };
  let fused = 0;
  const nearMisses: NearMiss[] = [];
  for (const mean of [...g]) {
    if (mean.op !== 'mint.mean' || mean.graph !== g) continue;
    const sq = mean.inputs[0]?.producer;
    const x = sq?.inputs[0];
    const isSquare = !!sq && ((sq.op === 'mint.pow' && scalar(sq.inputs[1]) === 2) || (sq.op === 'mint.mul' && sq.inputs[1] === x));
    if (!sq || !x || !isSquare) continue;
    const miss = (reason: string) => nearMisses.push({ node: mean.name, reason: `RMSNorm: ${reason}` });
    if (Number(mean.attrs.get('keepdims')?.value ?? 1) !== 1) {
      miss('the mean of the square drops the reduced dims (keepdims=0)');
      continue;
    }
    if (soleUser(mean.inputs[0], g) !== mean) {
      miss('the square has other readers than the mean');
      continue;
    }
    const shape = x.type?.kind === 'tensor' ? x.type.shape : null;
    if (!shape) {
      miss('the input\'s rank is unknown');
      continue;
    }
    const rank = shape.length;
    const a = mean.attrs.get('axes');
    const axes = a?.type === 'ints' ? a.value.map((v) => (Number(v) < 0 ? Number(v) + rank : Number(v))).sort((p, q) => p - q) : null;
    if (!axes || !axes.length || axes.some((v, i) => v !== rank - axes.length + i)) {
      miss('the mean is not over trailing axes');
      continue;
    }
    const add = soleUser(mean.outputs[0], g);
    const eps = add && add.op === 'mint.add' ? scalar(add.inputs[1]) ?? scalar(add.inputs[0]) : null;
    const sqrt = add ? soleUser(add.outputs[0], g) : null;
    if (eps === null) {
      miss('no constant eps is added to the mean (or the mean has other readers)');
      continue;
    }
    if (!sqrt || sqrt.op !== 'mint.sqrt') {
      miss('mean + eps does not go to a sqrt (alone)');
      continue;
    }
    const nodes: Node[] = [sq, mean, add!, sqrt];
    // x / sqrt(.), x * reciprocal(sqrt(.)), x * (1 / sqrt(.)).
    let out: Value | null = null;
    const next = soleUser(sqrt.outputs[0], g);
    if (next?.op === 'mint.div' && next.inputs[0] === x && next.inputs[1] === sqrt.outputs[0]) {
      nodes.push(next);
      out = next.outputs[0]!;
    } else if (next && (next.op === 'mint.reciprocal' || (next.op === 'mint.div' && scalar(next.inputs[0]) === 1 && next.inputs[1] === sqrt.outputs[0]))) {
      const mul = soleUser(next.outputs[0], g);
      if (mul?.op === 'mint.mul' && mul.inputs.includes(x) && mul.inputs.includes(next.outputs[0]!)) {
        nodes.push(next, mul);
        out = mul.outputs[0]!;
      }
    }
    if (!out) {
      miss('x is not divided by the sqrt (x / sqrt, x * reciprocal(sqrt), x * (1 / sqrt)), or a step has other readers');
      continue;
    }
    const norm = shape.slice(rank - axes.length);
    if (!norm.every((d): d is number => typeof d === 'number')) {
      miss(`the normalised dims are symbolic ([${norm.join(', ')}])`);
      continue;
    }
    const width = norm.reduce((p, q) => p * q, 1);
    const dtype = x.type?.kind === 'tensor' ? x.type.dtype : null;
    if (!dtype || dtype.name !== 'float32') {
      miss(`the input is ${dtype?.name ?? 'of unknown dtype'}, not float32`);
      continue;
    }
    let weight: Value | null = null;
    const wm = soleUser(out, g);
    if (wm?.op === 'mint.mul') {
      const other = wm.inputs[0] === out ? wm.inputs[1] : wm.inputs[0];
      const t = constOf(other);
      if (t && other && t.size === width && t.dtype === dtype) {
        weight = other;
        nodes.push(wm);
        out = wm.outputs[0]!;
        if (!other.const) {
          const v = g.addInitializer(new Value(`${other.name}_weight`), Tensor.fromArray(dtype, norm, Float32Array.from(num(fromTensor(t))), other.name));
          v.type = { kind: 'tensor', dtype, shape: [...norm] };
          weight = v;
        }
      }
    }
    if (!weight) {
      const name = `${mean.name}_weight`;
      weight = g.addInitializer(new Value(name), Tensor.fromArray(dtype, norm, new Float32Array(width).fill(1), name));
      weight.type = { kind: 'tensor', dtype, shape: [...norm] };
    }
    replaceWithNode(g, {
      op: RMS_NORM_OP, name: scopedName(mean, 'RMSNorm'), inputs: [x, weight],
      attrs: [['axis', { type: 'int', value: rank - axes.length }], ['epsilon', { type: 'float', value: eps }]],
    }, out, nodes[nodes.length - 1]!, nodes, mean);
    fused++;
  }
  return { fused, nearMisses };
}

export const fuseRmsNormPass: Pass = {
  name: 'fuse-rms-norm',
  description: 'RMSNorm from Pow/ReduceMean/Add/Sqrt/Reciprocal (or Div)/Mul [/Mul weight]',
  run(model) {
    const r = fuseRmsNorm(model.graph, constantsOf(model));
    return { ...result({ rms_norm: r.fused }), nearMisses: r.nearMisses };
  },
};
