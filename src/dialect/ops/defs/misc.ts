/** Constants, generators, gathers/scatters, control flow, sequences and signal ops. */
import type { Dim, Shape, ValueType } from '../../../ir/shape.js';
import { dim } from '../../../ir/symbolic.js';
import type { Tensor } from '../../../ir/tensor.js';
import type { InferCtx, KnownValue, OpDef } from '../types.js';
import { api, axis, decompose, def, i64, known, onnxDtype, sameAsInput } from '../helpers.js';
import { dtypeFromName } from '../../../ir/dtype.js';

const f32 = dtypeFromName('float32')!;

export function tensorValue(t: Tensor): KnownValue | undefined {
  if ((t.dtype.kind !== 'int' && t.dtype.kind !== 'uint' && t.dtype.kind !== 'bool') || t.dtype.bits < 8 || t.size > 64 || t.source) return undefined;
  return known(Array.from(t.toArray() as ArrayLike<number | bigint>, (x) => Number(x)), t.dims.length === 0);
}

function constant(ctx: InferCtx): void {
  const t = ctx.attrTensor('value');
  if (t) return ctx.setOutput(0, t.dtype, [...t.dims], tensorValue(t));
  const a = ctx.node.attrs;
  if (a.has('value_float')) return ctx.setOutput(0, f32, []);
  if (a.has('value_floats')) return ctx.setOutput(0, f32, [(a.get('value_floats')!.value as number[]).length]);
  if (a.has('value_int')) return ctx.setOutput(0, i64, [], known([ctx.attrInt('value_int', 0)], true));
  if (a.has('value_ints')) return ctx.setOutput(0, i64, [ctx.attrInts('value_ints')!.length], known(ctx.attrInts('value_ints')!));
  if (a.has('value_string')) return ctx.setOutput(0, dtypeFromName('string')!, []);
  if (a.has('value_strings')) return ctx.setOutput(0, dtypeFromName('string')!, [(a.get('value_strings')!.value as string[]).length]);
  const sparse = a.get('sparse_value');
  if (sparse?.type === 'sparse_tensor') return ctx.setOutput(0, sparse.value.values.dtype, [...sparse.value.dims]);
  ctx.fail('Constant holds no value attribute');
}

function constantOfShape(ctx: InferCtx): void {
  const v = ctx.value(0);
  const t = ctx.attrTensor('value');
  const n = ctx.need(0).shape[0];
  const shape = v ? v.elems.map((d) => d ?? ctx.fresh('shape')) : Array.from({ length: typeof n === 'number' ? n : 0 }, () => ctx.fresh('shape'));
  let value;
  const first = t ? tensorValue(t)?.elems[0] : 0;
  if (shape.length === 1 && typeof shape[0] === 'number' && shape[0] <= 64 && first !== undefined && (!t || t.dtype.kind === 'int')) {
    value = known(Array.from({ length: shape[0] }, () => first));
  }
  ctx.setOutput(0, t?.dtype ?? f32, shape, value);
}

function range(ctx: InferCtx): void {
  const [s, l, d] = [0, 1, 2].map((i) => ctx.value(i)?.elems[0] ?? null);
  let n: Dim;
  if (typeof s === 'number' && typeof l === 'number' && typeof d === 'number' && d !== 0) n = Math.max(0, Math.ceil((l - s) / d));
  else if (s !== null && l !== null && d === 1) n = dim.sub(l, s);
  else n = ctx.fresh('range');
  let value;
  if (typeof n === 'number' && n <= 64 && typeof s === 'number' && typeof d === 'number') value = known(Array.from({ length: n }, (_, i) => s + i * d));
  ctx.setOutput(0, ctx.need(0).dtype, [n], value);
}

function oneHot(ctx: InferCtx): void {
  const idx = ctx.need(0);
  const depth = ctx.value(1)?.elems[0] ?? ctx.fresh('depth');
  const r = idx.shape.length + 1;
  const a = axis(ctx, ctx.attrInt('axis', -1), r);
  const out = [...idx.shape];
  out.splice(a, 0, depth);
  ctx.setOutput(0, ctx.need(2).dtype, out);
}

function gatherND(ctx: InferCtx): void {
  const data = ctx.need(0);
  const idx = ctx.need(1);
  const b = ctx.attrInt('batch_dims', 0);
  const last = idx.shape[idx.shape.length - 1];
  if (typeof last !== 'number') ctx.fail('the last dim of GatherND indices must be static');
  ctx.setOutput(0, data.dtype, [...idx.shape.slice(0, -1), ...data.shape.slice(b + last)]);
}

function merge(a: ValueType | null, b: ValueType | null, ctx: InferCtx): ValueType | null {
  if (!a || !b) return a ?? b;
  if (a.kind === 'tensor' && b.kind === 'tensor') {
    if (!a.shape || !b.shape || a.shape.length !== b.shape.length) return { kind: 'tensor', dtype: a.dtype ?? b.dtype, shape: a.shape && b.shape ? null : (a.shape ?? b.shape) };
    return { kind: 'tensor', dtype: a.dtype ?? b.dtype, shape: a.shape.map((d, i) => (dim.equal(d, b.shape![i]!) ? d : ctx.fresh('branch'))) };
  }
  if (a.kind === 'sequence' && b.kind === 'sequence') return { kind: 'sequence', elem: merge(a.elem, b.elem, ctx) };
  return a;
}

function ifInfer(ctx: InferCtx): void {
  const then = ctx.node.attrs.get('then_branch');
  const els = ctx.node.attrs.get('else_branch');
  if (then?.type !== 'graph' || els?.type !== 'graph') ctx.fail('If needs then_branch and else_branch graphs');
  // A condition known at compile time (rank or shape checks) selects one branch; the other is dead code.
  const cond = ctx.value(0)?.elems[0];
  if (typeof cond === 'number') {
    const taken = cond ? then.value : els.value;
    ctx.dead(cond ? els.value : then.value);
    const t = ctx.subgraph(taken, []);
    ctx.node.outputs.forEach((o, i) => o && ctx.setOutputType(i, t[i] ?? null));
    return;
  }
  const a = ctx.subgraph(then.value, []);
  const b = ctx.subgraph(els.value, []);
  ctx.node.outputs.forEach((o, i) => o && ctx.setOutputType(i, merge(a[i] ?? null, b[i] ?? null, ctx)));
}

function loopInfer(ctx: InferCtx): void {
  const body = ctx.node.attrs.get('body');
  if (body?.type !== 'graph') ctx.fail('Loop needs a body graph');
  const carried = ctx.inputCount - 2;
  const ins: (ValueType | null)[] = [{ kind: 'tensor', dtype: i64, shape: [] }, { kind: 'tensor', dtype: dtypeFromName('bool')!, shape: [] }];
  for (let i = 0; i < carried; i++) ins.push(ctx.inputType(2 + i));
  const outs = ctx.subgraph(body.value, ins);
  const trips = ctx.value(0)?.elems[0] ?? ctx.fresh('loop');
  ctx.node.outputs.forEach((o, i) => {
    if (!o) return;
    if (i < carried) return ctx.setOutputType(i, merge(ctx.inputType(2 + i), outs[1 + i] ?? null, ctx));
    const t = outs[1 + i] ?? null;
    if (t?.kind === 'tensor' && t.shape) ctx.setOutputType(i, { kind: 'tensor', dtype: t.dtype, shape: [trips, ...t.shape] });
    else ctx.setOutputType(i, t);
  });
}

function stft(ctx: InferCtx): void {
  const sig = ctx.need(0);
  const step = ctx.value(1)?.elems[0] ?? null;
  const win = ctx.input(2);
  const len = ctx.input(3) ? (ctx.value(3)?.elems[0] ?? null) : (win?.shape?.[0] ?? null);
  const onesided = ctx.attrInt('onesided', 1) === 1;
  const frames = len !== null && step !== null ? dim.add(dim.floorDiv(dim.sub(sig.shape[1]!, len), step), 1) : ctx.fresh('frames');
  const bins = len === null ? ctx.fresh('bins') : onesided ? dim.add(dim.floorDiv(len, 2), 1) : len;
  ctx.setOutput(0, sig.dtype, [sig.shape[0]!, frames, bins, 2]);
}

const seqOf = (t: ValueType | null): ValueType => ({ kind: 'sequence', elem: t });

export const MISC: OpDef[] = [
  def('Constant', [1], [{ expr: 'a constant tensor (ms.Tensor)' }], constant, { inputs: [0, 0] }),
  def('ConstantOfShape', [9], [api('mint.full'), api('mint.zeros')], constantOfShape),
  def('Range', [11], [api('mint.arange')], range, { inputs: [3, 3] }),
  def('NonZero', [9], [api('mint.nonzero')], (ctx) => ctx.setOutput(0, i64, [ctx.need(0).shape.length, ctx.fresh('nonzero')])),
  def('Trilu', [14], [api('mint.triu', undefined, 'upper=1'), api('mint.tril', undefined, 'upper=0')], sameAsInput, { inputs: [1, 2] }),
  def('OneHot', [9], [api('mint.nn.functional.one_hot')], oneHot, { inputs: [3, 3] }),
  def('GatherElements', [11], [api('mint.gather')], (ctx) => ctx.setOutput(0, ctx.need(0).dtype, ctx.need(1).shape), { inputs: [2, 2] }),
  def('GatherND', [11], [decompose(['mint.reshape', 'mint.index_select'], 'linearised indices')], gatherND, { inputs: [2, 2] }),
  def('ScatterND', [11], [decompose(['ops.tensor_scatter_elements', 'mint.reshape'], 'tensor scatter update')], sameAsInput, { inputs: [3, 3] }),
  def('ScatterElements', [11], [api('mint.scatter')], sameAsInput, { inputs: [3, 3] }),
  def('Scatter', [9, 10], [api('mint.scatter')], sameAsInput, { inputs: [3, 3] }),
  def('Compress', [9], [api('mint.masked_select')], (ctx) => {
    const x = ctx.need(0);
    const a = ctx.attrInt('axis');
    if (a === undefined) return ctx.setOutput(0, x.dtype, [ctx.fresh('compress')]);
    const out: Shape = [...x.shape];
    out[axis(ctx, a, x.shape.length)] = ctx.fresh('compress');
    ctx.setOutput(0, x.dtype, out);
  }, { inputs: [2, 2] }),
  def('EyeLike', [9], [api('mint.eye')], (ctx) => ctx.setOutput(0, ctx.hasAttr('dtype') ? onnxDtype(ctx, ctx.attrInt('dtype', 1)) : ctx.need(0).dtype, ctx.need(0).shape)),
  def('RandomNormalLike', [1], [api('mint.randn_like')], (ctx) => ctx.setOutput(0, ctx.hasAttr('dtype') ? onnxDtype(ctx, ctx.attrInt('dtype', 1)) : ctx.need(0).dtype, ctx.need(0).shape)),
  def('RandomUniformLike', [1], [api('mint.rand_like')], (ctx) => ctx.setOutput(0, ctx.hasAttr('dtype') ? onnxDtype(ctx, ctx.attrInt('dtype', 1)) : ctx.need(0).dtype, ctx.need(0).shape)),
  def('If', [1], [{ expr: 'Python if/else in construct()' }], ifInfer, { outputs: [1, Infinity] }),
  def('Loop', [1], [{ expr: 'Python while loop in construct()' }], loopInfer, { inputs: [2, Infinity], outputs: [1, Infinity] }),
  def('SequenceConstruct', [11], [{ expr: 'a Python list' }], (ctx) => ctx.setOutputType(0, seqOf(ctx.inputType(0))), { inputs: [1, Infinity] }),
  def('SequenceEmpty', [11], [{ expr: '[]' }], (ctx) => ctx.setOutputType(0, seqOf({ kind: 'tensor', dtype: onnxDtype(ctx, ctx.attrInt('dtype', 1)), shape: null })), { inputs: [0, 0] }),
  def('SequenceInsert', [11], [{ expr: 'list.insert' }], (ctx) => {
    const s = ctx.inputType(0);
    const elem = s?.kind === 'sequence' ? s.elem : null;
    const t = ctx.inputType(1);
    ctx.setOutputType(0, seqOf(elem && elem.kind === 'tensor' && elem.shape === null ? t : merge(elem, t, ctx)));
  }, { inputs: [2, 3] }),
  def('SequenceAt', [11], [{ expr: 'list indexing' }], (ctx) => {
    const s = ctx.inputType(0);
    ctx.setOutputType(0, s?.kind === 'sequence' ? s.elem : null);
  }, { inputs: [2, 2] }),
  def('ConcatFromSequence', [11], [api('mint.cat', undefined, 'new_axis=0'), api('mint.stack', undefined, 'new_axis=1')], (ctx: InferCtx) => {
    const s = ctx.inputType(0);
    const e = s?.kind === 'sequence' ? s.elem : null;
    if (e?.kind !== 'tensor' || !e.shape) ctx.unknown('sequence elements have unknown shape');
    const newAxis = ctx.attrInt('new_axis', 0) === 1;
    const r = e.shape.length + (newAxis ? 1 : 0);
    const a = axis(ctx, ctx.attrInt('axis', 0), r);
    const out = [...e.shape];
    if (newAxis) out.splice(a, 0, ctx.fresh('seq'));
    else out[a] = ctx.fresh('seq');
    ctx.setOutput(0, e.dtype, out);
  }),
  def('STFT', [17], [decompose(['mint.matmul', 'mint.narrow', 'mint.stack'], 'frames sliced and stacked, DFT as a matmul')], stft, { inputs: [2, 4] }),
];
