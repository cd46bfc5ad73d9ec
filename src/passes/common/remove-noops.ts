/**
 * Removes ops that change nothing: Identity, inference Dropout, Cast to the same type, Transpose with the identity
 * permutation, single-input Concat/Sum/Max/Min/Mean, and Reshape / Expand / Squeeze / Unsqueeze / Flatten / Tile
 * whose output has the input's shape; Slice only with unit steps and Pad only with zero pads. Shapes must be known
 * to be equal, symbolic dims included.
 */
import type { Node } from '../../ir/node.js';
import type { Value } from '../../ir/value.js';
import { onnxOpOf } from '../../dialect/names.js';
import { inferShapes } from '../../dialect/ops/infer.js';
import type { Pass } from '../pass.js';
import { result } from '../pass.js';

function sameType(a: Value | null | undefined, b: Value | null | undefined): boolean {
  const x = a?.type;
  const y = b?.type;
  if (x?.kind !== 'tensor' || y?.kind !== 'tensor' || !x.shape || !y.shape || !x.dtype || x.dtype !== y.dtype) return false;
  return x.shape.length === y.shape.length && x.shape.every((d, i) => d !== null && d === y.shape![i]);
}

function isNoop(n: Node, op: string): boolean {
  const x = n.inputs[0];
  const y = n.outputs[0];
  if (!x || !y || n.outputs.slice(1).some((o) => o && o.uses.length > 0)) return false;
  switch (op) {
    case 'Identity':
    case 'Dropout':
      return true;
    case 'Cast':
    case 'CastLike':
      return x.type?.kind === 'tensor' && y.type?.kind === 'tensor' && !!x.type.dtype && x.type.dtype === y.type.dtype;
    case 'Transpose': {
      const p = n.attrs.get('perm');
      return p?.type === 'ints' ? p.value.every((v, i) => Number(v) === i) : false;
    }
    case 'Concat':
    case 'Sum':
    case 'Max':
    case 'Min':
    case 'Mean':
      return n.inputs.filter(Boolean).length === 1 && sameType(x, y);
    case 'Slice': {
      // Same shape is not enough: a step of -1 reverses.
      const steps = n.attrs.get('steps');
      const positive = steps?.type === 'ints' ? steps.value.every((v) => Number(v) === 1) : !n.inputs[4];
      return positive && sameType(x, y);
    }
    case 'Pad': {
      // Same shape is not enough either: pads of -1 and +1 shift.
      const pads = n.attrs.get('pads');
      return pads?.type === 'ints' && pads.value.every((v) => Number(v) === 0) && sameType(x, y);
    }
    case 'Reshape':
    case 'Expand':
    case 'Squeeze':
    case 'Unsqueeze':
    case 'Flatten':
    case 'Tile':
      return sameType(x, y);
    default:
      return false;
  }
}

export const removeNoops: Pass = {
  name: 'remove-noops',
  description: 'remove Identity, inference Dropout, same-type Cast and shape ops that leave their input unchanged',
  run(model, ctx) {
    const g = model.graph;
    if (ctx.inference) ctx.inference.get();
    else inferShapes(model);
    const opset = model.onnxOpset;
    let removed = 0;
    for (const n of [...g]) {
      const op = n.domain === 'mint' ? (n.op === 'ops.cast' ? 'Cast' : onnxOpOf(n.op, opset) ?? n.op) : n.domain === '' ? n.op : '';
      if (!isNoop(n, op)) continue;
      const x = n.inputs[0]!;
      const y = n.outputs[0]!;
      // A graph output keeps its producer (its name is the model's interface), unless the input is a plain value.
      if (g.outputs.includes(y) && (x.kind !== 'node' || g.outputs.includes(x))) continue;
      if (g.outputs.includes(y)) {
        // Rename so the model's output name survives.
        const name = y.name;
        g.replaceAllUsesWith(y, x);
        x.name = name;
      } else g.replaceAllUsesWith(y, x);
      g.remove(n);
      removed++;
    }
    return result({ removed });
  },
};
