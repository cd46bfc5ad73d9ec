/** Shape manipulation ops, with value propagation for the shape arithmetic exporters emit. */
import type { Dim, Shape } from '../../../ir/shape.js';
import { dim } from '../../../ir/symbolic.js';
import type { InferCtx, OpDef } from '../types.js';
import { api, axis, broadcast, decompose, def, i64, intsFrom, isStatic, known, ndConcat, ndSelect, ndTranspose, staticInts } from '../helpers.js';

function shapeOf(ctx: InferCtx): void {
  const x = ctx.need(0);
  const r = x.shape.length;
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
  const start = clamp(ctx.attrInt('start', 0));
  const end = ctx.hasAttr('end') ? clamp(ctx.attrInt('end', r)) : r;
  const elems = x.shape.slice(start, Math.max(start, end));
  ctx.setOutput(0, i64, [elems.length], known(elems));
}

function gather(ctx: InferCtx): void {
  const data = ctx.need(0);
  const idx = ctx.need(1);
  const ax = axis(ctx, ctx.attrInt('axis', 0), data.shape.length);
  const out = [...data.shape.slice(0, ax), ...idx.shape, ...data.shape.slice(ax + 1)];
  const dv = ctx.value(0);
  const iv = ctx.value(1);
  let value;
  if (dv && iv && data.shape.length === 1 && iv.elems.every((e) => typeof e === 'number')) {
    const n = dv.elems.length;
    value = known((iv.elems as number[]).map((i) => dv.elems[i < 0 ? i + n : i] ?? null), iv.scalar);
  }
  ctx.setOutput(0, data.dtype, out, value);
}

function unsqueeze(ctx: InferCtx): void {
  const x = ctx.need(0);
  const axes = staticInts(ctx, intsFrom(ctx, 1, 'axes'), 'Unsqueeze axes');
  if (!axes) ctx.fail('Unsqueeze needs axes');
  const rank = x.shape.length + axes.length;
  const norm = new Set(axes.map((a) => axis(ctx, a, rank)));
  const out: Dim[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(norm.has(i) ? 1 : x.shape[k++]!);
  const v = ctx.value(0);
  ctx.setOutput(0, x.dtype, out, v ? known(v.elems) : undefined);
}

function squeeze(ctx: InferCtx): void {
  const x = ctx.need(0);
  const axes = staticInts(ctx, intsFrom(ctx, 1, 'axes'), 'Squeeze axes');
  let out: Dim[];
  if (axes) {
    const norm = new Set(axes.map((a) => axis(ctx, a, x.shape.length)));
    for (const a of norm) {
      const d = x.shape[a]!;
      if (typeof d === 'number' && d !== 1) ctx.fail(`cannot squeeze axis ${a} of size ${d}`);
    }
    out = x.shape.filter((_, i) => !norm.has(i));
  } else {
    if (x.shape.some((d) => typeof d !== 'number')) ctx.fail('Squeeze without axes on a symbolic shape');
    out = x.shape.filter((d) => d !== 1);
  }
  const v = ctx.value(0);
  ctx.setOutput(0, x.dtype, out, v ? known(v.elems, out.length === 0) : undefined);
}

function concat(ctx: InferCtx): void {
  const ins: Shape[] = [];
  for (let i = 0; i < ctx.inputCount; i++) ins.push(ctx.need(i).shape);
  const rank = ins[0]!.length;
  const ax = axis(ctx, ctx.attrInt('axis', 0), rank);
  const out = [...ins[0]!];
  for (const s of ins.slice(1)) {
    if (s.length !== rank) ctx.fail(`inputs of rank ${rank} and ${s.length}`);
    out[ax] = dim.add(out[ax]!, s[ax]!);
    s.forEach((d, i) => {
      if (i !== ax && out[i] === null) out[i] = d;
    });
  }
  let value;
  const vals = ins.map((_, i) => ctx.value(i));
  if (vals.every((v) => v) && ins.every(isStatic)) {
    value = known(ndConcat(vals.map((v, i) => ({ elems: v!.elems, shape: ins[i] as number[] })), ax));
  }
  ctx.setOutput(0, ctx.need(0).dtype, out, value);
}

function sliceInfer(ctx: InferCtx): void {
  const x = ctx.need(0);
  const old = ctx.hasAttr('starts');
  const starts = intsFrom(ctx, 1, 'starts') ?? undefined;
  const ends = intsFrom(ctx, 2, 'ends') ?? undefined;
  const axesRaw = intsFrom(ctx, 3, 'axes');
  const stepsRaw = intsFrom(ctx, 4, 'steps');
  if (axesRaw === null) ctx.unknown('Slice axes are not known at compile time');
  if (stepsRaw === null) ctx.unknown('Slice steps are not known at compile time');
  const n = old ? (starts?.length ?? 0) : (ctx.need(1).shape[0] as number);
  const axes = staticInts(ctx, axesRaw === undefined ? Array.from({ length: typeof n === 'number' ? n : 0 }, (_, i) => i) : axesRaw, 'Slice axes')!;
  const steps = staticInts(ctx, stepsRaw ?? axes.map(() => 1), 'Slice steps')!;
  const out = [...x.shape];
  const v = ctx.value(0);
  let value;
  const picks: number[][] | null = v && isStatic(x.shape) ? x.shape.map((d) => Array.from({ length: d as number }, (_, i) => i)) : null;
  axes.forEach((a0, k) => {
    const a = axis(ctx, a0, x.shape.length);
    const d = x.shape[a]!;
    const s = starts?.[k];
    const e = ends?.[k];
    const step = steps[k]!;
    if (typeof s === 'number' && typeof e === 'number' && typeof d === 'number') {
      const [lo, hi] = clampRange(s, e, d, step);
      out[a] = Math.max(0, Math.ceil((hi - lo) / step));
      if (picks) picks[a] = indices(lo, hi, step);
    } else {
      out[a] = symbolicSliceDim(d, s ?? null, e ?? null, step) ?? ctx.fresh('slice');
    }
  });
  if (picks && v && out.every((d) => typeof d === 'number')) value = known(ndSelect(v.elems, x.shape as number[], picks));
  ctx.setOutput(0, x.dtype, out, value);
}

const TO_END = 2 ** 31 - 1;

/**
 * Slice length on a symbolic dim, assuming (as exporters do) that bounds lie within the dim; symbolic bounds come
 * from shapes and are non-negative. Null when it cannot be expressed.
 */
function symbolicSliceDim(d: Dim, s: Dim, e: Dim, step: number): Dim | null {
  if (step !== 1 || s === null || e === null || d === null) return null;
  const endIsEnd = typeof e === 'number' && e >= TO_END;
  const from = typeof s === 'number' && s < 0 ? dim.add(d, s) : s;
  const to = endIsEnd ? d : typeof e === 'number' && e < 0 ? dim.add(d, e) : e;
  return dim.sub(to, from);
}

function clampRange(s: number, e: number, d: number, step: number): [number, number] {
  const c = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  let a = s < 0 ? s + d : s;
  let b = e < 0 ? e + d : e;
  if (step > 0) return [c(a, 0, d), c(b, 0, d)];
  a = c(a, -1, d - 1);
  b = c(b, -1, d - 1);
  return [a, b];
}

function indices(lo: number, hi: number, step: number): number[] {
  const out: number[] = [];
  if (step > 0) for (let i = lo; i < hi; i += step) out.push(i);
  else for (let i = lo; i > hi; i += step) out.push(i);
  return out;
}

function reshape(ctx: InferCtx): void {
  const x0 = ctx.input(0);
  const sv0 = ctx.hasAttr('shape') ? known(ctx.attrInts('shape')!) : ctx.value(1);
  // A target without 0 or -1 entries fixes the output even when the input's shape is unknown.
  if (x0 && x0.shape === null && sv0 && sv0.elems.every((d) => d !== 0 && d !== -1 && d !== null)) {
    ctx.setOutput(0, x0.dtype, sv0.elems);
    return;
  }
  const x = ctx.need(0);
  const sv = sv0;
  const allowzero = ctx.attrInt('allowzero', 0) === 1;
  if (!sv) {
    const n = ctx.need(1).shape[0];
    if (typeof n !== 'number') ctx.fail('Reshape target shape has unknown length');
    ctx.setOutput(0, x.dtype, Array.from({ length: n }, () => ctx.fresh('reshape')));
    return;
  }
  const out: Dim[] = sv.elems.map((d, i) => (d === 0 && !allowzero ? (x.shape[i] ?? null) : d));
  const minus = out.findIndex((d) => d === -1);
  if (minus >= 0) {
    const rest = out.filter((_, i) => i !== minus);
    out[minus] = dim.floorDiv(dim.product(x.shape), dim.product(rest));
  }
  const v = ctx.value(0);
  ctx.setOutput(0, x.dtype, out.map((d) => (d === null ? ctx.fresh('reshape') : d)), v ? known(v.elems, out.length === 0) : undefined);
}

function expand(ctx: InferCtx): void {
  const x = ctx.need(0);
  const sv = ctx.value(1);
  const len = ctx.need(1).shape[0];
  const target: Dim[] = sv ? sv.elems.map((d) => (d === null ? ctx.fresh('expand') : d)) : Array.from({ length: typeof len === 'number' ? len : 0 }, () => ctx.fresh('expand'));
  ctx.setOutput(0, x.dtype, broadcast(ctx, [x.shape, target]));
}

function transpose(ctx: InferCtx): void {
  const x = ctx.need(0);
  const r = x.shape.length;
  const perm = ctx.attrInts('perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
  if (perm.length !== r) ctx.fail(`perm has ${perm.length} entries for rank ${r}`);
  const v = ctx.value(0);
  const value = v && isStatic(x.shape) ? known(ndTranspose(v.elems, x.shape, perm)) : undefined;
  ctx.setOutput(0, x.dtype, perm.map((p) => x.shape[axis(ctx, p, r, 'perm entry')]!), value);
}

function flatten(ctx: InferCtx): void {
  const x = ctx.need(0);
  const r = x.shape.length;
  let a = ctx.attrInt('axis', 1);
  if (a < 0) a += r;
  if (a < 0 || a > r) ctx.fail(`axis ${a} out of range for rank ${r}`);
  ctx.setOutput(0, x.dtype, [dim.product(x.shape.slice(0, a)), dim.product(x.shape.slice(a))]);
}

function split(ctx: InferCtx): void {
  const x = ctx.need(0);
  const ax = axis(ctx, ctx.attrInt('axis', 0), x.shape.length);
  const n = ctx.node.outputs.length;
  const sizes = intsFrom(ctx, 1, 'split');
  const d = x.shape[ax]!;
  for (let i = 0; i < n; i++) {
    let size: Dim;
    if (sizes) size = sizes[i] ?? null;
    else if (sizes === null) size = ctx.fresh('split');
    else if (typeof d === 'number') {
      const chunk = Math.ceil(d / n);
      size = i < n - 1 ? chunk : d - chunk * (n - 1);
    } else size = dim.floorDiv(d, n);
    const out = [...x.shape];
    out[ax] = size;
    ctx.setOutput(i, x.dtype, out);
  }
}

function tile(ctx: InferCtx): void {
  const x = ctx.need(0);
  const reps = ctx.value(1);
  ctx.setOutput(0, x.dtype, x.shape.map((d, i) => (reps ? dim.mul(d, reps.elems[i] ?? null) : ctx.fresh('tile'))));
}

function pad(ctx: InferCtx): void {
  const x = ctx.need(0);
  const r = x.shape.length;
  const pads = intsFrom(ctx, 1, 'pads') ?? undefined;
  const padAxes = staticInts(ctx, intsFrom(ctx, 3, 'axes'), 'Pad axes');
  const axes = padAxes ? padAxes.map((a) => axis(ctx, a, r)) : Array.from({ length: r }, (_, i) => i);
  const out = [...x.shape];
  axes.forEach((a, k) => {
    const b = pads?.[k];
    const e = pads?.[k + axes.length];
    out[a] = b === undefined || e === undefined ? ctx.fresh('pad') : dim.add(dim.add(out[a]!, b), e);
  });
  ctx.setOutput(0, x.dtype, out.map((d) => d ?? ctx.fresh('pad')));
}

function spaceDepth(toSpace: boolean) {
  return (ctx: InferCtx) => {
    const x = ctx.need(0);
    const b = ctx.attrInt('blocksize', 1);
    if (x.shape.length !== 4) ctx.fail(`expects rank 4, got ${x.shape.length}`);
    const [n, c, h, w] = x.shape as [Dim, Dim, Dim, Dim];
    ctx.setOutput(0, x.dtype, toSpace ? [n, dim.floorDiv(c, b * b), dim.mul(h, b), dim.mul(w, b)] : [n, dim.mul(c, b * b), dim.floorDiv(h, b), dim.floorDiv(w, b)]);
  };
}

export const SHAPE_OPS: OpDef[] = [
  def('Shape', [1], [{ expr: 'x.shape' }], shapeOf),
  def('Size', [1], [{ expr: 'x.numel()' }], (ctx) => ctx.setOutput(0, i64, [], known([dim.product(ctx.need(0).shape)], true))),
  def('Gather', [1], [api('mint.index_select', undefined, 'scalar or 1-D indices'), api('mint.gather', undefined, 'other indices'), decompose(['mint.index_select', 'mint.reshape'], 'flatten indices, select, reshape')], gather, { inputs: [2, 2] }),
  def('Unsqueeze', [1, 12], [api('mint.unsqueeze')], unsqueeze),
  def('Unsqueeze', [13], [api('mint.unsqueeze')], unsqueeze, { inputs: [2, 2] }),
  def('Squeeze', [1, 12], [api('mint.squeeze')], squeeze),
  def('Squeeze', [13], [api('mint.squeeze')], squeeze, { inputs: [1, 2] }),
  def('Concat', [4], [api('mint.cat')], concat, { inputs: [1, Infinity] }),
  def('Slice', [1, 9], [{ expr: 'x[a:b:s] (subscript)' }, api('mint.narrow')], sliceInfer),
  def('Slice', [10], [{ expr: 'x[a:b:s] (subscript)' }, api('mint.narrow'), decompose(['mint.flip', 'mint.narrow'], 'negative steps flip first')], sliceInfer, { inputs: [3, 5] }),
  def('Reshape', [1, 4], [api('mint.reshape')], reshape),
  def('Reshape', [5], [api('mint.reshape')], reshape, { inputs: [2, 2] }),
  def('Expand', [8], [api('mint.broadcast_to')], expand, { inputs: [2, 2] }),
  def('Transpose', [1], [api('mint.permute')], transpose),
  def('Flatten', [1], [api('mint.flatten', undefined, 'axis 1 (or reshape)'), api('mint.reshape')], flatten),
  def('Split', [2, 12], [api('mint.split')], split, { outputs: [1, Infinity] }),
  def('Split', [13], [api('mint.split')], split, { inputs: [1, 2], outputs: [1, Infinity] }),
  def('Tile', [6], [api('mint.tile')], tile, { inputs: [2, 2] }),
  def('Pad', [2, 10], [api('mint.nn.functional.pad')], pad),
  def('Pad', [11], [api('mint.nn.functional.pad')], pad, { inputs: [2, 4] }),
  def('DepthToSpace', [1], [api('mint.nn.functional.pixel_shuffle', '2.6.0', 'mode CRD'), decompose(['mint.reshape', 'mint.permute'], 'reshape / permute / reshape')], spaceDepth(true)),
  def('SpaceToDepth', [1], [decompose(['mint.reshape', 'mint.permute'], 'reshape / permute / reshape')], spaceDepth(false)),
];
