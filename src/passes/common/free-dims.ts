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
import type { Node } from '../../ir/node.js';
import type { Value } from '../../ir/value.js';
import { Tensor } from '../../ir/tensor.js';
import { fromTensor, num } from '../../ir/array.js';
import { type Dim, tensorType } from '../../ir/shape.js';
import { inferShapes } from '../../dialect/ops/infer.js';
import type { InferenceCache, Pass, PassResult } from '../pass.js';
import { constantsOf } from '../util.js';
import { MsgraphError } from '../../errors.js';
import { Builder, type FixedSize, reshapeTarget, resetNames, shapeOf } from './reshape-targets.js';

/** A state_dict name (`down_blocks.0.norm1.weight`): a parameter, never an exporter's constant. */
const PATH_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/;
const INT_MAX = 2 ** 62;

export interface FreeDimsReport {
  /** Per graph input, its dims as the package takes them (a name where free). */
  inputs: { name: string; dims: Dim[] }[];
  /** Sizes that stay as the export fixed them, and why. */
  fixed: FixedSize[];
  /** Free dims a parameter's size pins (`seq` by a position table): the package takes them at the export's size only. */
  pinned: { dim: string; size: number; by: string }[];
}

/** The batch, spatial and sequence dims of the inputs, as symbols with their export values. */
function chooseFree(g: Graph, where: Map<string, [Value, number]>, spec: Record<string, (string | number)[]> = {}): Map<string, number> {
  const env = new Map<string, number>();
  const unknown = Object.keys(spec).filter((k) => !g.inputs.some((v) => !v.const && v.name === k));
  if (unknown.length) throw new MsgraphError('usage', `--dim names no input: ${unknown.join(', ')}`, { hint: `inputs: ${g.inputs.filter((v) => !v.const).map((v) => v.name).join(', ')}` });
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
    const float = v.type.dtype?.kind === 'float';
    const roles: (string | null)[] = s.map((_, i) => (i === 0 ? 'batch' : null));
    if (s.length === 2 && !float) roles[1] = 'seq';
    if (s.length === 3 && float) roles[1] = 'seq';
    if (s.length === 4 && float) [roles[2], roles[3]] = ['height', 'width'];
    if (s.length === 5 && float) [roles[2], roles[3], roles[4]] = ['depth', 'height', 'width'];
    // `--dim input=batch,4,height,width`: a name frees that dim under that name, a number keeps it.
    const own = spec[v.name];
    if (own) {
      if (own.length !== s.length) throw new MsgraphError('usage', `--dim ${v.name} gives ${own.length} dims; the input has ${s.length} ([${s.join(', ')}])`);
      own.forEach((d, i) => {
        const e = s[i];
        if (typeof d === 'number' && typeof e === 'number' && d !== e) throw new MsgraphError('usage', `--dim ${v.name}: dim ${i} is ${e} in the export, not ${d}`);
        if (typeof d === 'string' && typeof e === 'number' && env.has(d) && env.get(d) !== e) throw new MsgraphError('usage', `--dim ${v.name}: ${d} is ${env.get(d)} elsewhere in the export but ${e} here`);
        roles[i] = typeof d === 'string' ? d : null;
      });
    }
    v.type = tensorType(v.type.dtype, s.map((d, i) => {
      if (typeof d !== 'number' || !roles[i]) return d;
      const sym = own && !env.has(roles[i]!) ? (env.set(roles[i]!, d), roles[i]!) : take(roles[i]!, d);
      if (!where.has(sym)) where.set(sym, [v, i]);
      return sym;
    }));
  }
  return env;
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
function constants(g: Graph, env: Map<string, number>, where: Map<string, [Value, number]>, before: Map<Value, Dim[]>, constOf: (v: Value | null | undefined) => Tensor | null): number {
  let n = 0;
  const done = new Set<Value>();
  for (const node of [...g]) {
    for (const v of node.inputs) {
      const c = constOf(v);
      if (!v || !c || done.has(v) || c.size <= 1 || c.isString || !/int/.test(c.dtype.name) || PATH_NAME.test(v.name)) continue;
      const vals = num(fromTensor(c));
      const b = new Builder(g, node);
      let out: Value | null = null;
      const same = g.inputs.find((x) => !x.const && JSON.stringify(before.get(x)) === JSON.stringify(c.dims) && shapeOf(x)?.some((d) => typeof d === 'string'));
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

export function freeInputDims(model: Model, spec: Record<string, (string | number)[]> = {}, inference?: InferenceCache): FreeDimsReport & { rewritten: number; freed: number } {
  const g = model.graph;
  resetNames();
  if (inference) inference.get();
  else inferShapes(model);
  const before = new Map<Value, Dim[]>();
  const record = (v: Value | null | undefined) => {
    const s = shapeOf(v);
    if (v && s) before.set(v, [...s]);
  };
  g.inputs.forEach(record);
  for (const n of g) n.outputs.forEach(record);
  const where = new Map<string, [Value, number]>();
  const chosen = chooseFree(g, where, spec);
  const env = Object.fromEntries(chosen);
  const fixed: FreeDimsReport['fixed'] = [];
  let rewritten = constants(g, chosen, where, before, constantsOf(model));
  // The export's declared shapes are its fixed sizes: inference starts from the inputs again.
  const reinfer = () => {
    for (const n of g) for (const o of n.outputs) if (o?.type?.kind === 'tensor') o.type = tensorType(o.type.dtype, null);
    inferShapes(model);
  };
  // Where a free size is more than the model takes (an op that needs it static, such as a convolution whose
  // kernel is an input), the inputs go back to the export's sizes; what was re-derived holds at those sizes too.
  const restore = (e: unknown) => {
    for (const v of g.inputs) {
      const s = before.get(v);
      if (s && v.type?.kind === 'tensor') v.type = tensorType(v.type.dtype, s);
    }
    fixed.push({ node: '(inputs)', reason: `the sizes stay as exported: ${(e as Error).message}` });
    chosen.clear();
    reinfer();
  };
  // Whether the types are those of the graph as it is (no rewrite since the last inference).
  let fresh = false;
  for (let round = 0; round < 256; round++) {
    try {
      reinfer();
    } catch (e) {
      restore(e);
      break;
    }
    fresh = true;
    let changed = 0;
    // What a rewrite this round changes downstream is only known after inference: those nodes wait a round.
    const stale = new Set<Value>();
    const constOf = constantsOf(model);
    for (const n of [...g]) {
      if (n.inputs.some((v) => v && stale.has(v))) {
        n.outputs.forEach((o) => o && stale.add(o));
        continue;
      }
      const r = n.op === 'mint.reshape' ? reshapeTarget(g, n, before, env, []) : null;
      if (r) r.outputs.forEach((o) => o && stale.add(o));
      else if ((n.op === 'msgraph.slice' && slice(n, before)) || uniformOperand(g, n, before, constOf)) n.outputs.forEach((o) => o && stale.add(o));
      else continue;
      changed++;
    }
    rewritten += changed;
    if (changed) fresh = false;
    if (!changed) {
      // One more look, to report what stays fixed.
      for (const n of [...g]) if (n.op === 'mint.reshape') reshapeTarget(g, n, before, env, fixed);
      break;
    }
  }
  if (chosen.size && !fresh) {
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
  run(model, ctx): PassResult {
    const r = freeInputDims(model, ctx.dims, ctx.inference);
    return { modified: r.rewritten > 0 || r.freed > 0, stats: { freed: r.freed, rewritten: r.rewritten, fixed: r.fixed.length }, report: { inputs: r.inputs, fixed: r.fixed, pinned: r.pinned } };
  },
};
