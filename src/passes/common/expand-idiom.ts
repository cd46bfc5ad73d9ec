/**
 * torch's `x.expand(n, -1, -1)` (and `expand_as`): the exporter turns the -1s into 1s at run time, `Expand(x,
 * Where(Equal(s, -1 * ones), ones, s))` with `ones = ConstantOfShape(Shape(s), 1)`. Where `s` is a size read off a
 * tensor, the Where is `s`; where it is a Concat of literals and such sizes, it is `s` with its literal -1s as 1s.
 * The Expand reads that directly, and the Equal/Where/ConstantOfShape arithmetic (a Tensor built from a shape,
 * compared element by element) goes. Backends then see a shape made of sizes and literals
 * (`broadcast_to(x, (batch, -1, -1))` in a MindSpore port).
 */
import type { Graph } from '../../ir/graph.js';
import { Node } from '../../ir/node.js';
import type { Value } from '../../ir/value.js';
import { Tensor } from '../../ir/tensor.js';
import { fromTensor, num } from '../../ir/array.js';
import { type Pass, result } from '../pass.js';
import { constantsOf } from '../util.js';

type ConstOf = (v: Value | null | undefined) => Tensor | null;

const elems = (t: Tensor | null): number[] | null => (t && !t.isString && /int/.test(t.dtype.name) ? [...num(fromTensor(t))] : null);

/** A value computed only from sizes read off tensors (and non-negative literals): never -1. */
function sizeDerived(v: Value | null | undefined, constOf: ConstOf, depth = 0): boolean {
  if (!v || depth > 12) return false;
  const c = elems(constOf(v));
  if (c) return c.every((x) => x >= 0);
  const n = v.producer;
  if (!n) return false;
  if (n.op === 'msgraph.shape' || n.op === 'msgraph.size') return true;
  const data = ['mint.index_select', 'msgraph.slice', 'mint.unsqueeze', 'mint.squeeze', 'mint.reshape', 'ops.cast', 'msgraph.identity'];
  if (data.includes(n.op)) return sizeDerived(n.inputs[0], constOf, depth + 1);
  if (n.op === 'mint.cat' || n.op === 'mint.mul' || n.op === 'mint.add') return n.inputs.every((i) => sizeDerived(i, constOf, depth + 1));
  return false;
}

/** `v` through Reshapes of a 1-D vector (the exporter's `Reshape(s, [-1])`). */
function throughFlat(v: Value | null | undefined): Value | null | undefined {
  while (v?.producer?.op === 'mint.reshape' && v.type?.kind === 'tensor' && v.type.shape?.length === 1) v = v.producer.inputs[0];
  return v;
}

/** Whether `v` holds all `k` (a constant, a ConstantOfShape of `k`, or such a value times a constant). */
function all(v: Value | null | undefined, k: number, constOf: ConstOf): boolean {
  const c = elems(constOf(v));
  if (c) return c.every((x) => x === k);
  const n = v?.producer;
  if (n?.op === 'msgraph.constant_of_shape') {
    const a = n.attrs.get('value');
    return a?.type === 'tensor' && (elems(a.value)?.every((x) => x === k) ?? false);
  }
  if (n?.op === 'mint.mul') {
    for (const [p, q] of [[0, 1], [1, 0]] as const) {
      const f = elems(constOf(n.inputs[q]));
      if (f?.length === 1 && f[0] !== 0 && Number.isInteger(k / f[0]!) && all(n.inputs[p], k / f[0]!, constOf)) return true;
    }
  }
  return false;
}

function rewrite(g: Graph, expand: Node, constOf: ConstOf): boolean {
  const where = expand.inputs[1]?.producer;
  if (where?.op !== 'mint.where') return false;
  const [cond, ones, s] = where.inputs;
  const eq = cond?.producer;
  if (eq?.op !== 'mint.eq' || !all(ones, 1, constOf)) return false;
  const src = throughFlat(s);
  const [a, b] = eq.inputs.map(throughFlat);
  const minus = a === src ? eq.inputs[1] : b === src ? eq.inputs[0] : null;
  if (!minus || !all(minus, -1, constOf)) return false;
  if (!src || src.type?.kind !== 'tensor' || src.type.shape?.length !== 1) return false;
  // A shape read off a tensor (`expand_as`) holds no -1: the Where is that shape.
  if (sizeDerived(src, constOf)) {
    expand.replaceInput(1, src);
    return true;
  }
  const cat = src.producer;
  if (cat?.op !== 'mint.cat') return false;
  // Each part: a literal (its -1s become 1s) or a size.
  const parts: Value[] = [];
  for (const p of cat.inputs) {
    const c = constOf(p);
    const xs = elems(c);
    if (p && xs && c) {
      if (!xs.includes(-1)) parts.push(p);
      else {
        const t = Tensor.fromArray(c.dtype, c.dims, c.dtype.name === 'int64' ? BigInt64Array.from(xs.map((x) => BigInt(x === -1 ? 1 : x))) : Int32Array.from(xs.map((x) => (x === -1 ? 1 : x))), `${p.name}_expand`);
        parts.push(g.addConstant(`${p.name}_expand`, t));
      }
    } else if (p && sizeDerived(p, constOf)) parts.push(p);
    else return false;
  }
  const node = new Node({ op: cat.op, domain: cat.domain, name: `${cat.name}_expand`, inputs: parts, outputs: 1, attrs: [...cat.attrs] });
  node.outputs[0]!.name = `${src.name}_expand`;
  node.outputs[0]!.type = src.type;
  for (const [k, v] of cat.metadata) node.metadata.set(k, v);
  g.insertBefore(expand, node);
  expand.replaceInput(1, node.outputs[0]!);
  return true;
}

export const expandIdiom: Pass = {
  name: 'expand-idiom',
  description: "torch's expand(-1) arithmetic (Where(Equal(shape, -1), 1, shape)) read as the shape with its -1s as 1s",
  run(model) {
    const constOf = constantsOf(model);
    let rewritten = 0;
    for (const n of [...model.graph]) if (n.op === 'mint.broadcast_to' && rewrite(model.graph, n, constOf)) rewritten++;
    return result({ rewritten });
  },
};
