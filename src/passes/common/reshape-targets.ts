/**
 * Reshape targets for the free-dims pass: a fixed target aligned with its input's dims at the export's sizes, and its
 * entries rebuilt as sizes read off tensors (`x.shape[2] * x.shape[3]`), with the IR those reads take.
 */
import type { Graph } from '../../ir/graph.js';
import { Node } from '../../ir/node.js';
import type { Value } from '../../ir/value.js';
import { Tensor } from '../../ir/tensor.js';
import { dtypeFromName } from '../../ir/dtype.js';
import type { Attribute } from '../../ir/attribute.js';
import { type Dim, tensorType } from '../../ir/shape.js';
import { dim, evaluate, monomial } from '../../ir/symbolic.js';
import { nodeScope } from '../../frontend/hierarchy.js';
import { replaceWithNode, scopedName } from '../util.js';

const I64 = dtypeFromName('int64')!;
export const shapeOf = (v: Value | null | undefined): Dim[] | null => (v?.type?.kind === 'tensor' ? v.type.shape : null);

/** A size left as exported, and why. */
export interface FixedSize { node: string; reason: string }

/** Groups of input dims and target dims whose products agree (at the export's sizes); null when they do not align. */
function align(a: number[], t: number[], free: (i: number) => boolean): { ins: number[]; outs: number[] }[] | null {
  const groups: { ins: number[]; outs: number[] }[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < t.length) {
    // Unit dims on their own: a 1 in the input is dropped, a 1 in the target is a literal; but a free dim that was
    // 1 at export (a batch of 1) joins the next group (`[batch, heads, ...]` folded into `[batch * heads, ...]`).
    if (i < a.length && a[i] === 1 && t[j] !== 1 && !(free(i) && j < t.length)) {
      groups.push({ ins: [i++], outs: [] });
      continue;
    }
    // A 1 in the target before a free dim splits off with it (`[batch * heads, ...]` unfolded to `[batch, heads,
    // ...]` at a batch of 1).
    if (j < t.length && t[j] === 1 && a[i] !== 1 && !(i < a.length && free(i))) {
      groups.push({ ins: [], outs: [j++] });
      continue;
    }
    if (i >= a.length || j >= t.length) return null;
    const g = { ins: [i], outs: [j] };
    let [p, q] = [a[i++]!, t[j++]!];
    while (p !== q) {
      if (p < q) {
        if (i >= a.length) return null;
        p *= a[i]!;
        g.ins.push(i++);
      } else {
        if (j >= t.length) return null;
        q *= t[j]!;
        g.outs.push(j++);
      }
    }
    groups.push(g);
  }
  return groups;
}

const leaf = (n: Node) => n.name.replace(/^.*\//, '') || 'reshape';

/** Names of what the pass adds: unique in the graph (one count for the whole run). */
let added = 0;

/** Starts the names over (one compile names alike every time). */
export function resetNames(): void {
  added = 0;
}

export class Builder {
  private readonly shapes = new Map<Value, Value>();
  constructor(private readonly g: Graph, private readonly at: Node) {}
  private get k(): number {
    return added++;
  }
  private node(op: string, inputs: Value[], type: Dim[], attrs: [string, Attribute][] = []): Value {
    // In the Reshape's own scope (a name under it would read as a module of its own).
    const n = new Node({ op, domain: 'mint', name: scopedName(this.at, `${leaf(this.at)}_size_${this.k}`), inputs, outputs: 1, attrs });
    for (const [key, v] of this.at.metadata) n.metadata.set(key, v);
    n.outputs[0]!.name = `${n.name}_output`;
    n.outputs[0]!.type = tensorType(I64, type);
    this.g.insertBefore(this.at, n);
    return n.outputs[0]!;
  }
  const(values: number[], scalar = false): Value {
    const name = scopedName(this.at, `${leaf(this.at)}_size_${this.k}`);
    return this.g.addConstant(name, Tensor.fromArray(I64, scalar ? [] : [values.length], BigInt64Array.from(values.map(BigInt)), name));
  }
  /** `v.shape[axis]` as a scalar. */
  dimOf(v: Value, axis: number): Value {
    let s = this.shapes.get(v);
    if (!s) {
      s = this.node('msgraph.shape', [v], [shapeOf(v)!.length]);
      this.shapes.set(v, s);
    }
    return this.node('mint.index_select', [s, this.const([axis], true)], [], [['axis', { type: 'int', value: 0 }]]);
  }
  mul(a: Value, b: Value): Value {
    return this.node('mint.mul', [a, b], []);
  }
  /** A tensor of `like`'s shape holding `c`'s (uniform) value. */
  fill(like: Value, c: Tensor): Value {
    const value = Tensor.fromBytes(c.dtype, [1], c.bytes.slice(0, c.dtype.bits / 8));
    let s = this.shapes.get(like);
    if (!s) {
      s = this.node('msgraph.shape', [like], [shapeOf(like)!.length]);
      this.shapes.set(like, s);
    }
    const out = this.node('msgraph.constant_of_shape', [s], shapeOf(like)!, [['value', { type: 'tensor', value }]]);
    out.type = tensorType(c.dtype, shapeOf(like)!);
    return out;
  }
  /** `arange(0, v.shape[axis])`, with leading unit dims up to `rank`. */
  arange([v, axis]: [Value, number], rank: number): Value {
    let out = this.node('mint.arange', [this.const([0], true), this.dimOf(v, axis), this.const([1], true)], [shapeOf(v)![axis]!]);
    for (let r = 1; r < rank; r++) out = this.node('mint.unsqueeze', [out], [], [['axes', { type: 'ints', value: [0] }]]);
    return out;
  }
  /** The 1-D target from scalars and literals. */
  target(parts: (Value | number)[]): Value {
    const vecs = parts.map((p) => (typeof p === 'number' ? this.const([p]) : this.node('mint.unsqueeze', [p], [1], [['axes', { type: 'ints', value: [0] }]])));
    return this.node('mint.cat', vecs, [parts.length], [['axis', { type: 'int', value: 0 }]]);
  }
}

/** A tensor computed before `at` (or a graph input) with a dim equal to `d`, and that dim's axis. */
function findDim(g: Graph, at: Node, d: Dim): [Value, number] | null {
  for (const v of earlier(g, at)) {
    const s = shapeOf(v);
    const k = s?.findIndex((x) => typeof x === 'string' && dim.equal(x, d)) ?? -1;
    if (k >= 0 && v.type?.kind === 'tensor' && v.type.dtype?.kind !== undefined) return [v, k];
  }
  return null;
}

/**
 * The dims a size was merged from, in order: consecutive dims of a tensor computed before `at` whose product is `p`
 * and whose export sizes are `sizes` (`[batch, height, width, c]` for the flattened `height*width`).
 */
function mergedFrom(g: Graph, at: Node, p: Dim, sizes: number[], env: Record<string, number>): Dim[] | null {
  for (const v of earlier(g, at)) {
    const s = shapeOf(v);
    if (!s) continue;
    for (let k = 0; k + sizes.length <= s.length; k++) {
      const run = s.slice(k, k + sizes.length);
      if (run.every((d) => typeof d === 'number')) continue;
      if (run.every((d, i) => evaluate(d, env) === sizes[i]) && dim.equal(dim.product(run), p)) return run;
    }
  }
  return null;
}

/**
 * Where `at`'s module can read a size: first the tensors it receives (its arguments, in order of use), then what its
 * own ops and layers computed before `at` other than reshapes and transposes (a fusion may remove those), earliest
 * first.
 */
function candidates(g: Graph, at: Node): Value[] {
  const scope = nodeScope(at)?.path ?? [];
  const inScope = (n: Node | null) => {
    const p = n ? nodeScope(n)?.path ?? [] : [];
    return scope.length > 0 && p.length >= scope.length && scope.every((s, i) => p[i] === s);
  };
  const args: Value[] = [];
  const own: Value[] = [];
  for (const n of g) {
    if (n === at) break;
    if (!inScope(n)) continue;
    for (const v of n.inputs) if (v && !v.const && !inScope(v.producer) && !args.includes(v) && v.producer?.op !== 'msgraph.constant') args.push(v);
    if (n.op !== 'mint.reshape' && n.op !== 'mint.permute') for (const o of n.outputs) if (o) own.push(o);
  }
  return [...args, ...own];
}

/** Graph inputs and the values computed before `at`. */
function earlier(g: Graph, at: Node): Value[] {
  const out: Value[] = g.inputs.filter((v) => !v.const);
  for (const n of g) {
    if (n === at) break;
    for (const o of n.outputs) if (o) out.push(o);
  }
  return out;
}

/** Re-derives one Reshape's fixed target; the new Reshape when it rewrote it. */
export function reshapeTarget(g: Graph, n: Node, before: Map<Value, Dim[]>, env: Record<string, number>, fixed: FixedSize[]): Node | null {
  const x = n.inputs[0];
  const out = n.outputs[0];
  const attr = n.attrs.get('shape');
  if (!x || !out || attr?.type !== 'ints' || n.inputs[1]) return null;
  const now = shapeOf(x);
  const [a, t] = [before.get(x), before.get(out)];
  if (!now || !a || !t || now.every((d) => typeof d === 'number')) return null;
  if (![...a, ...t].every((d) => typeof d === 'number') || now.some((d, i) => evaluate(d, env) !== a[i])) return null;
  const groups = align(a as number[], t as number[], (i) => typeof now[i] !== 'number');
  const where = n.name || n.op;
  if (!groups) {
    fixed.push({ node: where, reason: `Reshape to [${t.join(', ')}] does not align with its input's dims [${a.join(', ')}]` });
    return null;
  }
  // Each target entry: a literal, the symbolic size it now has, or the export's own 0 (copy) or -1 (the rest).
  const spec = attr.value.map(Number);
  const want: Dim[] = spec.map((d, j) => (d === 0 || d === -1 ? d : (t[j] as number)));
  let free = false;
  for (const gr of groups) {
    const syms = gr.ins.filter((i) => typeof now[i] !== 'number');
    // Entries the export left as 0 or -1 follow the input already; a group with a -1 takes what is free.
    if (!syms.length || !gr.outs.length || gr.outs.every((j) => spec[j] === 0 || spec[j] === -1) || gr.outs.some((j) => spec[j] === -1)) continue;
    free = true;
    if (gr.outs.length === 1) want[gr.outs[0]!] = dim.product(gr.ins.map((i) => now[i]!));
    else if (gr.ins.length === 1) {
      // A free dim split in several: the first entry follows it (a window count before the window size, the
      // sequence before the heads), unless the dim is a product the entries spell in order (height * width).
      const p = now[gr.ins[0]!]!;
      const merged = mergedFrom(g, n, p, gr.outs.map((j) => t[j] as number), env);
      const big = gr.outs.filter((j) => t[j] !== 1);
      if (merged) gr.outs.forEach((j, k) => (want[j] = merged[k]!));
      else if (big.length === 1) want[big[0]!] = p;
      else {
        const rest = gr.outs.slice(1).reduce((s, j) => s * (t[j] as number), 1);
        want[gr.outs[0]!] = dim.floorDiv(p, rest);
      }
    } else {
      fixed.push({ node: where, reason: `Reshape mixes several input dims into several target dims ([${a.join(', ')}] to [${t.join(', ')}])` });
      return null;
    }
  }
  if (!free) return null;
  // Sources: a tensor of this module (or its layers) computed before with that size, or with the sizes it is a
  // product of (`batch * 2` from `to_q`'s batch), then the input's own dims, then any earlier tensor, then one -1.
  // Reading sizes off tensors a fusion will remove (the per-head tensors of an attention) would stop that fusion.
  const b = new Builder(g, n);
  const order = candidates(g, n);
  const exact = (d: Dim): [Value, number] | null => {
    for (const v of order) {
      const k = shapeOf(v)?.findIndex((y) => typeof y === 'string' && dim.equal(y, d)) ?? -1;
      if (k >= 0) return [v, k];
    }
    return null;
  };
  const source = (d: Dim): Value | null => {
    const e = exact(d);
    if (e) return b.dimOf(e[0], e[1]);
    const m = monomial(d);
    if (!m || m.atoms.length < 1 || (m.atoms.length === 1 && m.coef === 1)) return null;
    const factors = m.atoms.map((a) => exact(a));
    if (factors.some((f) => !f)) return null;
    const prod = factors.map((f) => b.dimOf(f![0], f![1])).reduce((p, q) => b.mul(p, q));
    return m.coef === 1 ? prod : b.mul(prod, b.const([m.coef], true));
  };
  const parts: (Value | number)[] = [];
  let minus = spec.includes(-1);
  for (let j = 0; j < want.length; j++) {
    const d = want[j]!;
    if (d === 0) {
      parts.push(b.dimOf(x, j));
      continue;
    }
    if (typeof d === 'number') {
      parts.push(d);
      continue;
    }
    const local = source(d);
    if (local) {
      parts.push(local);
      continue;
    }
    const gr = groups.find((x) => x.outs.includes(j))!;
    if (gr.outs.length === 1) {
      parts.push(gr.ins.map((i) => b.dimOf(x, i)).reduce((p, q) => b.mul(p, q)));
      continue;
    }
    const src = findDim(g, n, d);
    if (src) parts.push(b.dimOf(src[0], src[1]));
    else if (!minus) {
      parts.push(-1);
      minus = true;
    } else {
      fixed.push({ node: where, reason: `no tensor has the size ${d} that Reshape's entry ${j} needs` });
      return null;
    }
  }
  const r = replaceWithNode(g, { op: 'mint.reshape', name: n.name, inputs: [x, b.target(parts)], attrs: [['allowzero', { type: 'int', value: 0 }]] }, out, n, [n], n);
  // The new value is the old one at the export's sizes.
  before.set(r.outputs[0]!, t);
  return r;
}
