/** Matrix products, convolutions, pools, normalisations, softmax, recurrent layers and resizing. */
import type { Dim, Shape } from '../../../ir/shape.js';
import { dim } from '../../../ir/symbolic.js';
import type { InferCtx, OpDef } from '../types.js';
import { api, axis, broadcast, convOut, decompose, def, i64, sameAsInput } from '../helpers.js';

const F = 'mint.nn.functional.';

function matmul(ctx: InferCtx): void {
  const a = ctx.need(0);
  const b = ctx.need(1);
  if (a.shape.length === 0 || b.shape.length === 0) ctx.fail('MatMul of a scalar');
  const as = a.shape.length === 1 ? [1, a.shape[0]!] : a.shape;
  const bs = b.shape.length === 1 ? [b.shape[0]!, 1] : b.shape;
  const k1 = as[as.length - 1]!;
  const k2 = bs[bs.length - 2]!;
  if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2) ctx.fail(`inner dims differ: [${a.shape.join(',')}] x [${b.shape.join(',')}]`);
  const batch = broadcast(ctx, [as.slice(0, -2), bs.slice(0, -2)]);
  const out = [...batch];
  if (a.shape.length > 1) out.push(as[as.length - 2]!);
  if (b.shape.length > 1) out.push(bs[bs.length - 1]!);
  ctx.setOutput(0, a.dtype, out);
}

function gemm(ctx: InferCtx): void {
  const a = ctx.need(0);
  const b = ctx.need(1);
  const m = ctx.attrInt('transA', 0) ? a.shape[1]! : a.shape[0]!;
  const n = ctx.attrInt('transB', 0) ? b.shape[0]! : b.shape[1]!;
  ctx.setOutput(0, a.dtype, [m, n]);
}

function einsum(ctx: InferCtx): void {
  const eq = ctx.attrString('equation', '').replace(/\s/g, '');
  const [lhs, rhs] = eq.split('->');
  const terms = lhs!.split(',');
  const sizes = new Map<string, Dim>();
  let ellipsis: Shape = [];
  terms.forEach((t, i) => {
    const s = ctx.need(i).shape;
    const letters = t.replace('...', '');
    const ell = s.length - letters.length;
    if (t.includes('...')) ellipsis = broadcast(ctx, [ellipsis, s.slice(t.indexOf('...'), t.indexOf('...') + ell)]);
    let k = 0;
    for (let j = 0; j < t.length; j++) {
      if (t.startsWith('...', j)) {
        k += ell;
        j += 2;
        continue;
      }
      const d = s[k++]!;
      const prev = sizes.get(t[j]!);
      if (prev === undefined || prev === 1) sizes.set(t[j]!, d);
    }
  });
  const out = rhs ?? [...sizes.keys()].filter((c) => terms.join('').split(c).length === 2).sort().join('');
  const shape: Dim[] = [];
  for (let j = 0; j < out.length; j++) {
    if (out.startsWith('...', j)) {
      shape.push(...ellipsis);
      j += 2;
    } else shape.push(sizes.get(out[j]!) ?? ctx.fail(`einsum output letter ${out[j]} is not in the inputs`));
  }
  ctx.setOutput(0, ctx.need(0).dtype, shape);
}

/** Spatial output dims for Conv / pools, with explicit pads or auto_pad. */
function spatial(ctx: InferCtx, x: Shape, kernel: number[], ceil: boolean): Dim[] {
  const n = kernel.length;
  const strides = ctx.attrInts('strides') ?? kernel.map(() => 1);
  const dil = ctx.attrInts('dilations') ?? kernel.map(() => 1);
  const pads = ctx.attrInts('pads') ?? kernel.map(() => 0).concat(kernel.map(() => 0));
  const auto = ctx.attrString('auto_pad', 'NOTSET');
  return kernel.map((k, i) => {
    const d = x[2 + i]!;
    if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') return dim.ceilDiv(d, strides[i]!);
    if (auto === 'VALID') return convOut(d, k, strides[i]!, dil[i]!, 0, ceil);
    return convOut(d, k, strides[i]!, dil[i]!, pads[i]! + pads[i + n]!, ceil);
  });
}

function conv(ctx: InferCtx): void {
  const x = ctx.need(0);
  const w = ctx.need(1);
  if (x.shape.length < 3 || w.shape.length !== x.shape.length) ctx.fail(`input rank ${x.shape.length} and weight rank ${w.shape.length} do not fit a convolution`);
  const kernel = ctx.attrInts('kernel_shape') ?? (w.shape.slice(2) as number[]);
  if (kernel.some((k) => typeof k !== 'number')) ctx.fail('kernel shape must be static');
  const group = ctx.attrInt('group', 1);
  const cin = x.shape[1]!;
  const wc = w.shape[1]!;
  if (typeof cin === 'number' && typeof wc === 'number' && cin !== wc * group) ctx.fail(`input has ${cin} channels, weight expects ${wc}x${group} groups`);
  ctx.setOutput(0, x.dtype, [x.shape[0]!, w.shape[0]!, ...spatial(ctx, x.shape, kernel, false)]);
}

function convTranspose(ctx: InferCtx): void {
  const x = ctx.need(0);
  const w = ctx.need(1);
  const n = x.shape.length - 2;
  const kernel = ctx.attrInts('kernel_shape') ?? (w.shape.slice(2) as number[]);
  const group = ctx.attrInt('group', 1);
  const cout = dim.mul(w.shape[1]!, group);
  const explicit = ctx.attrInts('output_shape');
  if (explicit) {
    ctx.setOutput(0, x.dtype, [x.shape[0]!, cout, ...explicit.slice(-n)]);
    return;
  }
  const strides = ctx.attrInts('strides') ?? kernel.map(() => 1);
  const dil = ctx.attrInts('dilations') ?? kernel.map(() => 1);
  const pads = ctx.attrInts('pads') ?? kernel.map(() => 0).concat(kernel.map(() => 0));
  const outPad = ctx.attrInts('output_padding') ?? kernel.map(() => 0);
  const auto = ctx.attrString('auto_pad', 'NOTSET');
  const sp = kernel.map((k, i) => {
    const d = x.shape[2 + i]!;
    if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') return dim.mul(d, strides[i]!);
    const base = dim.mul(dim.sub(d, 1), strides[i]!);
    const extra = outPad[i]! + (dil[i]! * (k - 1) + 1) - (auto === 'VALID' ? 0 : pads[i]! + pads[i + n]!);
    return dim.add(base, extra);
  });
  ctx.setOutput(0, x.dtype, [x.shape[0]!, cout, ...sp]);
}

function pool(ctx: InferCtx): void {
  const x = ctx.need(0);
  const kernel = ctx.attrInts('kernel_shape');
  if (!kernel) ctx.fail('kernel_shape is required');
  const out = [x.shape[0]!, x.shape[1]!, ...spatial(ctx, x.shape, kernel, ctx.attrInt('ceil_mode', 0) === 1)];
  ctx.setOutput(0, x.dtype, out);
  if (ctx.node.outputs.length > 1) ctx.setOutput(1, i64, out);
}

function globalPool(ctx: InferCtx): void {
  const x = ctx.need(0);
  ctx.setOutput(0, x.dtype, [x.shape[0]!, x.shape[1]!, ...x.shape.slice(2).map(() => 1)]);
}

function batchNorm(ctx: InferCtx): void {
  sameAsInput(ctx);
  const c = ctx.need(0).shape[1] ?? null;
  for (let i = 1; i < ctx.node.outputs.length; i++) ctx.setOutput(i, ctx.need(0).dtype, [c]);
}

function layerNorm(ctx: InferCtx): void {
  const x = ctx.need(0);
  sameAsInput(ctx);
  const r = x.shape.length;
  const a = axis(ctx, ctx.attrInt('axis', -1), r);
  const stat = x.shape.map((d, i) => (i < a ? d : 1));
  const statType = ctx.attrInt('stash_type', 1) === 1 ? ctx.need(0).dtype : x.dtype;
  for (let i = 1; i < ctx.node.outputs.length; i++) ctx.setOutput(i, statType, stat);
}

/** Output shapes of LSTM / GRU / RNN: Y, Y_h (and Y_c for LSTM). */
function recurrent(ctx: InferCtx): void {
  const x = ctx.need(0);
  const hidden = ctx.attrInt('hidden_size') ?? (ctx.need(2).shape[2] as Dim as number);
  const dirs = ctx.attrString('direction', 'forward') === 'bidirectional' ? 2 : 1;
  const batchFirst = ctx.attrInt('layout', 0) === 1;
  const [seq, batch] = batchFirst ? [x.shape[1]!, x.shape[0]!] : [x.shape[0]!, x.shape[1]!];
  const y: Dim[] = batchFirst ? [batch, seq, dirs, hidden] : [seq, dirs, batch, hidden];
  const h: Dim[] = batchFirst ? [batch, dirs, hidden] : [dirs, batch, hidden];
  const outs = [y, h, h];
  ctx.node.outputs.forEach((o, i) => o && ctx.setOutput(i, x.dtype, outs[i] ?? null));
}

/** Resize / Upsample output size from sizes, or from scales (rational scales keep dims symbolic). */
function resize(ctx: InferCtx): void {
  const x = ctx.need(0);
  const r = x.shape.length;
  const axesAttr = ctx.attrInts('axes');
  const axes = axesAttr ? axesAttr.map((a) => axis(ctx, a, r)) : Array.from({ length: r }, (_, i) => i);
  const newest = ctx.dialect || ctx.opset >= 11;
  const sizesIdx = newest ? 3 : -1;
  const scalesIdx = newest ? 2 : ctx.node.op === 'Upsample' && ctx.opset < 9 ? -1 : 1;
  const out = [...x.shape];
  // Sizes or scales: the dialect's attribute when present, else the input of this opset's form.
  const nonEmpty = <T,>(v: T[] | undefined | null) => (v && v.length ? v : null);
  const sizes: Dim[] | null = nonEmpty(ctx.attrInts('sizes')) ?? (sizesIdx >= 0 && ctx.input(sizesIdx) ? nonEmpty(ctx.value(sizesIdx)?.elems) : null);
  let scales = nonEmpty(ctx.node.attrs.get('scales')?.value as number[] | undefined);
  if (!scales && scalesIdx >= 0 && ctx.input(scalesIdx)) {
    const t = ctx.constant(scalesIdx);
    if (t && t.size > 0) scales = Array.from(t.toArray() as Float32Array);
  }
  axes.forEach((a, k) => {
    if (sizes) out[a] = sizes[k] ?? null;
    else if (scales) out[a] = scaleDim(out[a]!, scales[k]!);
    else out[a] = null;
  });
  ctx.setOutput(0, x.dtype, out.map((d) => d ?? ctx.fresh('resize')));
}

export function scaleDim(d: Dim, s: number): Dim {
  if (typeof d === 'number') return Math.floor(d * s + 1e-9);
  for (let q = 1; q <= 16; q++) {
    const p = Math.round(s * q);
    if (Math.abs(p / q - s) < 1e-6) return dim.floorDiv(dim.mul(d, p), q);
  }
  return null;
}

function attention(ctx: InferCtx): void {
  const q = ctx.need(0);
  const v = ctx.need(2);
  if (q.shape.length === 4) ctx.setOutput(0, q.dtype, [q.shape[0]!, q.shape[1]!, q.shape[2]!, v.shape[3]!]);
  else {
    const qh = ctx.attrInt('q_num_heads', 1);
    const kvh = ctx.attrInt('kv_num_heads', 1);
    ctx.setOutput(0, q.dtype, [q.shape[0]!, q.shape[1]!, dim.mul(dim.floorDiv(v.shape[2]!, kvh), qh)]);
  }
  for (let i = 1; i < ctx.node.outputs.length; i++) if (ctx.node.outputs[i]) ctx.setOutput(i, q.dtype, null);
}

const convRefs = [
  api(`${F}conv1d`, '2.6.0', '1-D'), decompose(['mint.unsqueeze', `${F}conv2d`, 'mint.squeeze'], 'as a 2-D convolution', '1-D'),
  api(`${F}conv2d`, undefined, '2-D'), api(`${F}conv3d`, undefined, '3-D'), api('mint.nn.Conv2d', undefined, '2-D with weights'),
];

export const NN: OpDef[] = [
  def('MatMul', [1], [api('mint.matmul')], matmul, { inputs: [2, 2] }),
  def('Gemm', [7], [api(`${F}linear`, undefined, 'transB=1, alpha=beta=1'), api('mint.addmm'), api('mint.nn.Linear', undefined, 'with weights')], gemm, { inputs: [2, 3] }),
  def('Einsum', [12], [api('mint.einsum')], einsum, { inputs: [1, Infinity] }),
  def('Conv', [1], convRefs, conv, { inputs: [2, 3] }),
  def('ConvTranspose', [1], [api(`${F}conv_transpose2d`, undefined, '2-D'), api('mint.nn.ConvTranspose2d', undefined, '2-D with weights'), decompose(['ops.Conv2DTranspose', 'ops.Conv3DTranspose'], 'ops primitives', '1-D/3-D')], convTranspose, { inputs: [2, 3] }),
  def('MaxPool', [1], [api(`${F}max_pool2d`, undefined, '2-D'), decompose(['mint.unsqueeze', `${F}max_pool2d`, 'mint.squeeze'], 'as 2-D', '1-D')], pool, { outputs: [1, 2] }),
  def('AveragePool', [1], [api(`${F}avg_pool1d`, undefined, '1-D'), api(`${F}avg_pool2d`, undefined, '2-D'), api(`${F}avg_pool3d`, '2.6.0', '3-D'), decompose([`${F}conv3d`], 'a depthwise conv3d with 1/k weights', '3-D')], pool),
  def('LpPool', [1], [decompose(['mint.pow', `${F}avg_pool2d`, 'mint.mul'], '(avg_pool(x**p) * n) ** (1/p)')], pool),
  def('GlobalAveragePool', [1], [api(`${F}adaptive_avg_pool2d`), api('mint.mean')], globalPool),
  def('GlobalMaxPool', [1], [api('mint.amax')], globalPool),
  def('GlobalLpPool', [2], [decompose(['mint.norm'], 'p-norm over spatial dims')], globalPool),
  def('BatchNormalization', [7], [api(`${F}batch_norm`), api('mint.nn.BatchNorm2d', undefined, 'with weights')], batchNorm, { inputs: [5, 5], outputs: [1, 5] }),
  def('InstanceNormalization', [6], [decompose([`${F}group_norm`], 'group_norm with groups = channels')], sameAsInput, { inputs: [3, 3] }),
  def('LayerNormalization', [17], [api(`${F}layer_norm`), api('mint.nn.LayerNorm', undefined, 'with weights')], layerNorm, { inputs: [2, 3], outputs: [1, 3] }),
  def('SimplifiedLayerNormalization', [1], [decompose(['mint.pow', 'mint.mean', 'mint.rsqrt', 'mint.mul'], 'RMSNorm (ORT fused op)')], layerNorm, { inputs: [2, 2], outputs: [1, 2] }),
  def('GroupNormalization', [18], [api(`${F}group_norm`), api('mint.nn.GroupNorm', undefined, 'with weights')], sameAsInput, { inputs: [3, 3] }),
  def('LpNormalization', [1], [api(`${F}normalize`)], sameAsInput),
  def('MeanVarianceNormalization', [9], [decompose(['mint.mean', 'mint.sub', 'mint.std', 'mint.div'], '(x - mean) / std')], sameAsInput),
  def('Softmax', [1], [api('mint.softmax')], sameAsInput),
  def('LogSoftmax', [1], [api(`${F}log_softmax`)], sameAsInput),
  def('Hardmax', [1], [decompose(['mint.argmax', `${F}one_hot`], 'one_hot(argmax)')], sameAsInput),
  def('LSTM', [7], [decompose(['mint.matmul', 'mint.sigmoid', 'mint.tanh', 'mint.split', 'mint.stack'], 'unrolled LSTM cell')], recurrent, { inputs: [3, 8], outputs: [0, 3] }),
  def('GRU', [7], [decompose(['mint.matmul', 'mint.sigmoid', 'mint.tanh', 'mint.split', 'mint.stack'], 'unrolled GRU cell')], recurrent, { inputs: [3, 6], outputs: [0, 2] }),
  def('RNN', [7], [decompose(['mint.matmul', 'mint.tanh', 'mint.stack'], 'unrolled RNN cell')], recurrent, { inputs: [3, 6], outputs: [0, 2] }),
  def('Resize', [10, 10], [api(`${F}interpolate`)], resize, { inputs: [2, 2] }),
  def('Resize', [11], [api(`${F}interpolate`)], resize, { inputs: [1, 4] }),
  def('Upsample', [7, 8], [api(`${F}interpolate`)], resize),
  def('Upsample', [9, 9], [api(`${F}interpolate`)], resize, { inputs: [2, 2] }),
  def('GridSample', [16], [api(`${F}grid_sample`)], (ctx) => {
    const x = ctx.need(0);
    const g = ctx.need(1);
    ctx.setOutput(0, x.dtype, [x.shape[0]!, x.shape[1]!, ...g.shape.slice(1, -1)]);
  }, { inputs: [2, 2] }),
  def('DeformConv', [19], [decompose([`${F}grid_sample`, 'mint.matmul'], 'sampling + matmul')], (ctx) => {
    const x = ctx.need(0);
    const w = ctx.need(1);
    const kernel = ctx.attrInts('kernel_shape') ?? (w.shape.slice(2) as number[]);
    ctx.setOutput(0, x.dtype, [x.shape[0]!, w.shape[0]!, ...spatial(ctx, x.shape, kernel, false)]);
  }, { inputs: [3, 5] }),
  def('Attention', [23], [decompose(['mint.matmul', 'mint.softmax', 'ops.flash_attention_score'], 'the attention helper')], attention, { inputs: [3, 6], outputs: [1, 4] }),
  def('FusedConv', [1], [decompose([`${F}conv2d`, `${F}relu`], 'conv + activation (ORT fused op)')], conv, { inputs: [2, 4], domain: 'com.microsoft' }),
  def('FusedGemm', [1], [decompose([`${F}linear`, `${F}relu`], 'gemm + activation (ORT fused op)')], gemm, { inputs: [2, 3], domain: 'com.microsoft' }),
  def('FusedMatMul', [1], [decompose(['mint.matmul', 'mint.transpose', 'mint.mul'], 'alpha * op(A) @ op(B) (ORT fused op)')], (ctx) => {
    const a = ctx.need(0);
    const b = ctx.need(1);
    const t = (s: Shape, on: number): Shape => (on ? [...s.slice(0, -2), s[s.length - 1]!, s[s.length - 2]!] : s);
    const as = t(a.shape, ctx.attrInt('transA', 0));
    const bs = t(b.shape, ctx.attrInt('transB', 0));
    ctx.setOutput(0, a.dtype, [...broadcast(ctx, [as.slice(0, -2), bs.slice(0, -2)]), as[as.length - 2]!, bs[bs.length - 1]!]);
  }, { inputs: [2, 2], domain: 'com.microsoft' }),
];
