/**
 * Free input sizes for a port that fixed them at export. torch.onnx.export without dynamic_axes writes every size as a
 * number, and folds the shape arithmetic that followed into literals: `Reshape(x, [1, 256, 32])` where the module
 * computed `x.view(b, h * w, c)`. This pass makes the batch, spatial and sequence dims of the graph inputs symbolic
 * (`batch`, `height`, `width`, `seq`), then re-derives each Reshape target that the export fixed from sizes that are
 * now free: the target is aligned with the input's dims at the export's sizes (dims that merge, dims that split), and
 * every entry whose value came from a free dim becomes shape arithmetic on a tensor that has it (`x.shape[2] *
 * x.shape[3]`, or an earlier tensor's `height`), at most one entry `-1`. Shape inference runs again after each round,
 * so a re-derived Reshape frees the ones after it. Slice ends that were the whole of a now-free dim become open.
 *
 * What stays fixed is reported with the reason (a Reshape whose target cannot be aligned, an entry with no tensor to
 * read it from); a package then refuses other sizes at run time with the Reshape's own error, never silently.
 */
import type { Graph } from '../../ir/graph.js';
import type { Model } from '../../ir/model.js';
import { Node } from '../../ir/node.js';
import { Value } from '../../ir/value.js';
import { Tensor } from '../../ir/tensor.js';
import { fromTensor, num } from '../../ir/array.js';
import { dtypeFromName } from '../../ir/dtype.js';
import { type Dim, tensorType } from '../../ir/shape.js';
import { dim, evaluate, monomial } from '../../ir/symbolic.js';
import { nodeScope } from '../../frontend/hierarchy.js';
import { inferShapes } from '../../dialect/ops/infer.js';
import type { Pass, PassResult } from '../pass.js';
import { constantsOf, replaceWithNode, scopedName } from '../util.js';

const I64 = dtypeFromName('int64')!;
/** A state_dict name (`down_blocks.0.norm1.weight`): a parameter, never an exporter's constant. */
const PATH_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/;
const INT_MAX = 2 ** 62;
const shapeOf = (v: Value | null | undefined): Dim[] | null => (v?.type?.kind === 'tensor' ? v.type.shape : null);

export interface FreeDimsReport {
  /** Per graph input, its dims as the package takes them (a name where free). */
  inputs: { name: string; dims: Dim[] }[];
  /** Sizes that stay as the export fixed them, and why. */
  fixed: { node: string; reason: string }[];
  /** Free dims a parameter's size pins (`seq` by a position table): the package takes them at the export's size only. */
  pinned: { dim: string; size: number; by: string }[];
}

/** The batch, spatial and sequence dims of the inputs, as symbols with their export values. */
function chooseFree(g: Graph, where: Map<string, [Value, number]>): Map<string, number> {
  const env = new Map<string, number>();
  const take = (base: string, value: number): string => {
    // One symbol per role and value: inputs that share a batch of 1 share `batch`.
    for (let i = 1; ; i++) {
      const s = i === 1 ? base : `${base}_${i}`;
      if (!env.has(s)) {
        env.set(s, value);
        return s;
      }
      if (env.get(s) === value) return s;
    }
  };
  for (const v of g.inputs) {
    if (v.const || v.type?.kind !== 'tensor' || !v.type.shape) continue;
    const s = v.type.shape;
    exportShapes.set(v, [...s]);
    const float = v.type.dtype?.kind === 'float';
    const roles: (string | null)[] = s.map((_, i) => (i === 0 ? 'batch' : null));
    if (s.length === 2 && !float) roles[1] = 'seq';
    if (s.length === 3 && float) roles[1] = 'seq';
    if (s.length === 4 && float) [roles[2], roles[3]] = ['height', 'width'];
    if (s.length === 5 && float) [roles[2], roles[3], roles[4]] = ['depth', 'height', 'width'];
    v.type = tensorType(v.type.dtype, s.map((d, i) => {
      if (typeof d !== 'number' || !roles[i]) return d;
      const sym = take(roles[i]!, d);
      if (!where.has(sym)) where.set(sym, [v, i]);
      return sym;
    }));
  }
  return env;
}

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

class Builder {
  private readonly shapes = new Map<Value, Value>();
  constructor(private readonly g: Graph, private readonly at: Node) {}
  private get k(): number {
    return added++;
  }
  private node(op: string, inputs: Value[], type: Dim[], attrs: [string, import('../../ir/attribute.js').Attribute][] = []): Value {
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

/** Re-derives one Reshape's fixed target; true when it rewrote it. */
function reshape(g: Graph, n: Node, before: Map<Value, Dim[]>, env: Record<string, number>, fixed: FreeDimsReport['fixed']): Node | null {
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

/** A Slice end that was the whole of a dim that is now free becomes open; true when it changed one. */
function slice(n: Node, before: Map<Value, Dim[]>): boolean {
  const x = n.inputs[0];
  const ends = n.attrs.get('ends');
  const axes = n.attrs.get('axes');
  const now = shapeOf(x);
  const a = x ? before.get(x) : undefined;
  if (ends?.type !== 'ints' || !now || !a) return false;
  const ax = axes?.type === 'ints' ? axes.value.map(Number) : ends.value.map((_, i) => i);
  let changed = false;
  const next = ends.value.map((e, i) => {
    const k = ax[i]! < 0 ? ax[i]! + now.length : ax[i]!;
    if (typeof now[k] !== 'number' && Number(e) === a[k] && Number(e) > 0) {
      changed = true;
      return INT_MAX;
    }
    return Number(e);
  });
  if (changed) n.setAttr('ends', { type: 'ints', value: next });
  return changed;
}

const ELEMENTWISE = new Set(['mint.add', 'mint.sub', 'mint.mul', 'mint.div']);

/**
 * Integer constants the export computed from sizes that are now free: a uniform tensor of an input's whole shape
 * (BERT's token_type_ids, zeros like input_ids) becomes a ConstantOfShape of that input's shape; `arange(n)` where n
 * is one free dim's size (position ids) becomes an arange to that dim. Returns how many it rewrote.
 */
function constants(g: Graph, env: Map<string, number>, where: Map<string, [Value, number]>, constOf: (v: Value | null | undefined) => Tensor | null): number {
  let n = 0;
  const done = new Set<Value>();
  for (const node of [...g]) {
    for (const v of node.inputs) {
      const c = constOf(v);
      if (!v || !c || done.has(v) || c.size <= 1 || c.isString || !/int/.test(c.dtype.name) || PATH_NAME.test(v.name)) continue;
      const vals = num(fromTensor(c));
      const b = new Builder(g, node);
      let out: Value | null = null;
      const same = g.inputs.find((x) => !x.const && JSON.stringify(before0(x)) === JSON.stringify(c.dims) && shapeOf(x)?.some((d) => typeof d === 'string'));
      if (vals.every((x) => x === vals[0]) && same) {
        out = b.fill(same, c);
      } else {
        const len = c.dims[c.dims.length - 1]!;
        const syms = [...env].filter(([, k]) => k === len).map(([s]) => s);
        if (c.dims.slice(0, -1).every((d) => d === 1) && vals.every((x, i) => x === i) && syms.length === 1) out = b.arange(where.get(syms[0]!)!, c.dims.length);
      }
      if (!out) continue;
      done.add(v);
      // `node` is the constant's first reader (nodes are visited in order): every reader takes the new value.
      for (const u of [...v.uses]) u.node.replaceInput(u.index, out);
      n++;
    }
  }
  return n;
}

/** The export-time shape of an input, as chooseFree found it (its numbers, or null where the export had a name). */
const exportShapes = new WeakMap<Value, Dim[]>();
const before0 = (v: Value) => exportShapes.get(v) ?? null;


/**
 * An elementwise op with a uniform constant the export folded at the full size (`scores + zeros(2, 256, 256)`, a
 * mask of nothing): the constant becomes a scalar of that value, which broadcasts at any size. True when it did.
 */
function uniformOperand(g: Graph, n: Node, before: Map<Value, Dim[]>, constOf: (v: Value | null | undefined) => Tensor | null): boolean {
  if (!ELEMENTWISE.has(n.op) || n.inputs.length !== 2 || !n.outputs[0]) return false;
  const outBefore = before.get(n.outputs[0]);
  for (const k of [0, 1]) {
    const c = constOf(n.inputs[k]);
    const other = n.inputs[1 - k];
    // Only a constant the export made at the output's full size (not a parameter: a norm's weight of ones stays).
    if (!c || c.size <= 1 || c.isString || !other || !outBefore || JSON.stringify(c.dims) !== JSON.stringify(outBefore) || PATH_NAME.test(n.inputs[k]!.name)) continue;
    const s = shapeOf(other);
    const sBefore = before.get(other);
    // The other operand has the output's whole shape (the constant expands nothing) and is now free.
    if (!s || s.every((d) => typeof d === 'number') || JSON.stringify(sBefore) !== JSON.stringify(outBefore)) continue;
    const vals = fromTensor(c);
    const x = num(vals)[0]!;
    if (!num(vals).every((y) => y === x)) continue;
    const name = `${n.inputs[k]!.name}_scalar`;
    const bytes = c.bytes.slice(0, c.dtype.bits / 8);
    n.replaceInput(k, g.addConstant(name, Tensor.fromBytes(c.dtype, [], bytes, name)));
    return true;
  }
  return false;
}

/**
 * Free dims a parameter pins: an elementwise op of a parameter with a tensor whose dim there is now free (a learned
 * position table added to the tokens), or a MatMul by a weight over a free last dim (a Linear over flattened pixels).
 */
function pinnedDims(g: Graph, env: Record<string, number>): FreeDimsReport['pinned'] {
  const out: FreeDimsReport['pinned'] = [];
  const seen = new Set<string>();
  const pin = (d: Dim, by: string) => {
    // The free dims the size is computed from (`floor(height/8)*floor(width/8) + 1`: height and width).
    const atoms = typeof d === 'string' ? Object.keys(env).filter((a) => new RegExp(`\\b${a}\\b`).test(d)) : [];
    for (const a of atoms) {
      if (!(a in env) || seen.has(a)) continue;
      seen.add(a);
      out.push({ dim: a, size: env[a]!, by });
    }
  };
  for (const n of g) {
    const params = n.inputs.filter((v): v is Value => !!v?.const && PATH_NAME.test(v.name) && v.const.dtype.kind === 'float');
    if (!params.length) continue;
    if (ELEMENTWISE.has(n.op)) {
      for (const p of params) {
        const other = n.inputs.find((v) => v && v !== p);
        const s = shapeOf(other);
        const ps = p.const!.dims;
        if (!s) continue;
        ps.forEach((k, i) => {
          const d = s[s.length - ps.length + i];
          if (k > 1 && typeof d === 'string') pin(d, `${p.name} [${ps.join(', ')}]`);
        });
      }
    } else if (n.op === 'mint.matmul' && n.inputs[1]?.const) {
      const s = shapeOf(n.inputs[0]);
      const d = s?.[s.length - 1];
      if (typeof d === 'string') pin(d, `${n.inputs[1].name} (a Linear over it)`);
    }
  }
  return out;
}

export function freeInputDims(model: Model): FreeDimsReport & { rewritten: number; freed: number } {
  const g = model.graph;
  added = 0;
  inferShapes(model);
  const before = new Map<Value, Dim[]>();
  const record = (v: Value | null | undefined) => {
    const s = shapeOf(v);
    if (v && s) before.set(v, [...s]);
  };
  g.inputs.forEach(record);
  for (const n of g) n.outputs.forEach(record);
  const where = new Map<string, [Value, number]>();
  const chosen = chooseFree(g, where);
  const env = Object.fromEntries(chosen);
  const fixed: FreeDimsReport['fixed'] = [];
  let rewritten = constants(g, chosen, where, constantsOf(model));
  // The export's declared shapes are its fixed sizes: inference starts from the inputs again.
  const reinfer = () => {
    for (const n of g) for (const o of n.outputs) if (o?.type?.kind === 'tensor') o.type = tensorType(o.type.dtype, null);
    inferShapes(model);
  };
  // Where a free size is more than the model takes (an op that needs it static, such as a convolution whose
  // kernel is an input), the inputs go back to the export's sizes; what was re-derived holds at those sizes too.
  const restore = (e: unknown) => {
    for (const v of g.inputs) {
      const s = exportShapes.get(v);
      if (s && v.type?.kind === 'tensor') v.type = tensorType(v.type.dtype, s);
    }
    fixed.push({ node: '(inputs)', reason: `the sizes stay as exported: ${(e as Error).message}` });
    chosen.clear();
    reinfer();
  };
  for (let round = 0; round < 256; round++) {
    try {
      reinfer();
    } catch (e) {
      restore(e);
      break;
    }
    let changed = 0;
    // What a rewrite this round changes downstream is only known after inference: those nodes wait a round.
    const stale = new Set<Value>();
    const constOf = constantsOf(model);
    for (const n of [...g]) {
      if (n.inputs.some((v) => v && stale.has(v))) {
        n.outputs.forEach((o) => o && stale.add(o));
        continue;
      }
      const r = n.op === 'mint.reshape' ? reshape(g, n, before, env, []) : null;
      if (r) r.outputs.forEach((o) => o && stale.add(o));
      else if ((n.op === 'msgraph.slice' && slice(n, before)) || uniformOperand(g, n, before, constOf)) n.outputs.forEach((o) => o && stale.add(o));
      else continue;
      changed++;
    }
    rewritten += changed;
    if (!changed) {
      // One more look, to report what stays fixed.
      for (const n of [...g]) if (n.op === 'mint.reshape') reshape(g, n, before, env, fixed);
      break;
    }
  }
  if (chosen.size) {
    try {
      reinfer();
    } catch (e) {
      restore(e);
    }
  }
  const pinned = pinnedDims(g, env);
  return { rewritten, freed: chosen.size, fixed, pinned, inputs: g.inputs.filter((v) => !v.const).map((v) => ({ name: v.name, dims: shapeOf(v) ?? [] })) };
}

export const freeDims: Pass = {
  name: 'free-dims',
  description: 'batch, spatial and sequence input dims made free; Reshape targets and Slice ends the export fixed from them re-derived as shape arithmetic',
  run(model): PassResult {
    const r = freeInputDims(model);
    return { modified: r.rewritten > 0 || r.freed > 0, stats: { freed: r.freed, rewritten: r.rewritten, fixed: r.fixed.length }, report: { inputs: r.inputs, fixed: r.fixed, pinned: r.pinned } };
  },
};
