/** Linear algebra, normalisation and softmax kernels. */
import { broadcastIndex, broadcastShapes, castValue, EvalError, forEachLine, make, normAxis, num, size, strides, type NDArray } from '../ir/array.js';
import type { Attrs, Kernel } from './kernel.js';

function round(a: NDArray): NDArray {
  const d = num(a);
  for (let i = 0; i < d.length; i++) d[i] = castValue(d[i]!, a.dtype);
  return a;
}

function matmul(a: NDArray, b: NDArray): NDArray {
  const as = a.shape.length === 1 ? [1, a.shape[0]!] : a.shape;
  const bs = b.shape.length === 1 ? [b.shape[0]!, 1] : b.shape;
  const m = as[as.length - 2]!;
  const k = as[as.length - 1]!;
  const n = bs[bs.length - 1]!;
  if (bs[bs.length - 2] !== k) throw new EvalError(`MatMul inner dims ${k} and ${bs[bs.length - 2]}`);
  const batch = broadcastShapes([as.slice(0, -2), bs.slice(0, -2)]);
  const ai = broadcastIndex(as.slice(0, -2), batch);
  const bi = broadcastIndex(bs.slice(0, -2), batch);
  const nb = size(batch);
  const out = new Float64Array(nb * m * n);
  const ad = num(a);
  const bd = num(b);
  for (let q = 0; q < nb; q++) {
    const ao = ai[q]! * m * k;
    const bo = bi[q]! * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += ad[ao + i * k + t]! * bd[bo + t * n + j]!;
        out[q * m * n + i * n + j] = s;
      }
    }
  }
  const shape = [...batch];
  if (a.shape.length > 1) shape.push(m);
  if (b.shape.length > 1) shape.push(n);
  return round(make(a.dtype, shape, out));
}

function gemm([A, B, C]: (NDArray | null)[], at: Attrs): NDArray[] {
  const t = (x: NDArray, on: number) => (on ? make(x.dtype, [x.shape[1]!, x.shape[0]!], transpose2(x)) : x);
  const a = t(A!, at.i('transA', 0));
  const b = t(B!, at.i('transB', 0));
  const alpha = at.f('alpha', 1);
  const beta = at.f('beta', 1);
  // alpha*AB + beta*C in float64, rounded once.
  const y = make(a.dtype, [a.shape[0]!, b.shape[1]!]);
  const yd = num(y);
  const ab = matmulRaw(a, b);
  if (C) {
    const ci = broadcastIndex(C.shape, y.shape);
    const cd = num(C);
    for (let i = 0; i < yd.length; i++) yd[i] = castValue(alpha * ab[i]! + beta * cd[ci[i]!]!, y.dtype);
  } else for (let i = 0; i < yd.length; i++) yd[i] = castValue(alpha * ab[i]!, y.dtype);
  return [y];
}

function matmulRaw(a: NDArray, b: NDArray): Float64Array {
  const [m, k] = a.shape as [number, number];
  const n = b.shape[1]!;
  const out = new Float64Array(m * n);
  const ad = num(a);
  const bd = num(b);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let t = 0; t < k; t++) s += ad[i * k + t]! * bd[t * n + j]!;
    out[i * n + j] = s;
  }
  return out;
}

function transpose2(x: NDArray): Float64Array {
  const [r, c] = x.shape as [number, number];
  const d = num(x);
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = d[i * c + j]!;
  return out;
}

/** Normalises groups of `inner` consecutive elements: (x - mean) / sqrt(var + eps). */
function normalizeRows(x: Float64Array, rows: number, inner: number, eps: number, out: Float64Array, stats?: { mean: Float64Array; inv: Float64Array }): void {
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let j = 0; j < inner; j++) mean += x[r * inner + j]!;
    mean /= inner;
    let v = 0;
    for (let j = 0; j < inner; j++) v += (x[r * inner + j]! - mean) ** 2;
    v /= inner;
    const inv = 1 / Math.sqrt(v + eps);
    for (let j = 0; j < inner; j++) out[r * inner + j] = (x[r * inner + j]! - mean) * inv;
    if (stats) {
      stats.mean[r] = mean;
      stats.inv[r] = inv;
    }
  }
}

function softmaxLike(kind: 'softmax' | 'log' | 'hard'): Kernel {
  return ([X], a, ctx) => {
    const r = X!.shape.length;
    const x = num(X!);
    const out = make(X!.dtype, [...X!.shape]);
    const o = num(out);
    // Before opset 13 the input is coerced to 2-D at `axis` (default 1); from 13 it works along one axis (default -1).
    const coerce = a.has('coerce_2d') ? a.i('coerce_2d', 0) === 1 : ctx.opset < 13;
    const ax = normAxis(a.i('axis', coerce ? 1 : -1), r);
    const lineShape = coerce ? [size(X!.shape.slice(0, ax)), size(X!.shape.slice(ax))] : X!.shape;
    forEachLine(lineShape, coerce ? 1 : ax, (base, step, len) => {
      let mx = -Infinity;
      let arg = 0;
      for (let j = 0; j < len; j++) if (x[base + j * step]! > mx) { mx = x[base + j * step]!; arg = j; }
      let s = 0;
      for (let j = 0; j < len; j++) s += Math.exp(x[base + j * step]! - mx);
      for (let j = 0; j < len; j++) {
        const v = x[base + j * step]!;
        o[base + j * step] = castValue(kind === 'softmax' ? Math.exp(v - mx) / s : kind === 'log' ? v - mx - Math.log(s) : +(j === arg), out.dtype);
      }
    });
    return [out];
  };
}

export const NN_KERNELS: Record<string, Kernel> = {
  MatMul: ([a, b]) => [matmul(a!, b!)],
  Gemm: gemm,
  Softmax: softmaxLike('softmax'),
  LogSoftmax: softmaxLike('log'),
  Hardmax: softmaxLike('hard'),
  BatchNormalization: ([X, s, b, mean, v], a, ctx) => {
    const eps = a.f('epsilon', 1e-5);
    const [n, c] = X!.shape as [number, number];
    const inner = size(X!.shape.slice(2));
    const out = make(X!.dtype, [...X!.shape]);
    const [x, sd, bd, o] = [num(X!), num(s!), num(b!), num(out)];
    let md = num(mean!);
    let vd = num(v!);
    const training = a.i('training_mode', 0) === 1;
    const res: NDArray[] = [out];
    if (training) {
      // Batch statistics normalise; the running statistics move by `momentum`.
      const m = a.f('momentum', 0.9);
      const bm = new Float64Array(c);
      const bv = new Float64Array(c);
      for (let i = 0; i < n * c; i++) for (let j = 0; j < inner; j++) bm[i % c] += x[i * inner + j]!;
      for (let ch = 0; ch < c; ch++) bm[ch] /= n * inner;
      for (let i = 0; i < n * c; i++) for (let j = 0; j < inner; j++) bv[i % c] += (x[i * inner + j]! - bm[i % c]!) ** 2;
      for (let ch = 0; ch < c; ch++) bv[ch] /= n * inner;
      const rm = md.map((q, ch) => q * m + bm[ch]! * (1 - m));
      const rv = vd.map((q, ch) => q * m + bv[ch]! * (1 - m));
      md = bm;
      vd = bv;
      res.push(round(make(mean!.dtype, [c], rm)), round(make(v!.dtype, [c], rv)));
    }
    for (let i = 0; i < n * c; i++) {
      const ch = i % c;
      const k = sd[ch]! / Math.sqrt(vd[ch]! + eps);
      for (let j = 0; j < inner; j++) o[i * inner + j] = castValue((x[i * inner + j]! - md[ch]!) * k + bd[ch]!, out.dtype);
    }
    return res.slice(0, ctx.outputs);
  },
  MeanVarianceNormalization: ([X], a) => {
    const axes = (a.ints('axes') ?? [0, 2, 3]).map((q) => normAxis(q, X!.shape.length));
    const x = num(X!);
    const xs = strides(X!.shape);
    const keyOf = (i: number) => X!.shape.reduce((acc, d, k) => (axes.includes(k) ? acc : acc * d + (Math.floor(i / xs[k]!) % d)), 0);
    const sum = new Map<number, number>();
    const sq = new Map<number, number>();
    const cnt = new Map<number, number>();
    for (let i = 0; i < x.length; i++) {
      const k = keyOf(i);
      sum.set(k, (sum.get(k) ?? 0) + x[i]!);
      sq.set(k, (sq.get(k) ?? 0) + x[i]! * x[i]!);
      cnt.set(k, (cnt.get(k) ?? 0) + 1);
    }
    const out = make(X!.dtype, [...X!.shape]);
    const o = num(out);
    for (let i = 0; i < x.length; i++) {
      const k = keyOf(i);
      const mu = sum.get(k)! / cnt.get(k)!;
      const variance = sq.get(k)! / cnt.get(k)! - mu * mu;
      o[i] = castValue((x[i]! - mu) / Math.sqrt(variance + 1e-9), out.dtype);
    }
    return [out];
  },
  InstanceNormalization: ([X, s, b], a) => {
    const eps = a.f('epsilon', 1e-5);
    const [n, c] = X!.shape as [number, number];
    const inner = size(X!.shape.slice(2));
    const out = make(X!.dtype, [...X!.shape]);
    const o = num(out);
    normalizeRows(num(X!), n * c, inner, eps, o);
    const [sd, bd] = [num(s!), num(b!)];
    for (let i = 0; i < o.length; i++) {
      const ch = Math.floor(i / inner) % c;
      o[i] = castValue(o[i]! * sd[ch]! + bd[ch]!, out.dtype);
    }
    return [out];
  },
  LayerNormalization: ([X, s, b], a, ctx) => {
    const r = X!.shape.length;
    const ax = normAxis(a.i('axis', -1), r);
    const eps = a.f('epsilon', 1e-5);
    const inner = size(X!.shape.slice(ax));
    const rows = size(X!.shape.slice(0, ax));
    const out = make(X!.dtype, [...X!.shape]);
    const o = num(out);
    const stats = { mean: new Float64Array(rows), inv: new Float64Array(rows) };
    normalizeRows(num(X!), rows, inner, eps, o, stats);
    const si = broadcastIndex(s!.shape, X!.shape.slice(ax));
    const bi = b ? broadcastIndex(b.shape, X!.shape.slice(ax)) : null;
    const [sd, bd] = [num(s!), b ? num(b) : null];
    for (let i = 0; i < o.length; i++) {
      const j = i % inner;
      o[i] = castValue(o[i]! * sd[si[j]!]! + (bd ? bd[bi![j]!]! : 0), out.dtype);
    }
    const statShape = X!.shape.map((d, i) => (i < ax ? d : 1));
    const res: NDArray[] = [out];
    if (ctx.outputs > 1) res.push(round(make(X!.dtype, statShape, stats.mean)));
    if (ctx.outputs > 2) res.push(round(make(X!.dtype, statShape, stats.inv)));
    return res;
  },
  GroupNormalization: ([X, s, b], a, ctx) => {
    const eps = a.f('epsilon', 1e-5);
    const groups = a.i('num_groups', 1);
    const [n, c] = X!.shape as [number, number];
    const inner = size(X!.shape.slice(2));
    const out = make(X!.dtype, [...X!.shape]);
    const o = num(out);
    normalizeRows(num(X!), n * groups, (c / groups) * inner, eps, o);
    const [sd, bd] = [num(s!), num(b!)];
    // Opset 18 had per-group scale/bias; 21 per-channel.
    const perGroup = (a.has('affine_per_group') ? a.i('affine_per_group', 0) === 1 : ctx.opset < 21) && sd.length === groups;
    for (let i = 0; i < o.length; i++) {
      const ch = Math.floor(i / inner) % c;
      const k = perGroup ? Math.floor(ch / (c / groups)) : ch;
      o[i] = castValue(o[i]! * sd[k]! + bd[k]!, out.dtype);
    }
    return [out];
  },
  LpNormalization: ([X], a) => {
    const ax = normAxis(a.i('axis', -1), X!.shape.length);
    const p = a.i('p', 2);
    const x = num(X!);
    const out = make(X!.dtype, [...X!.shape]);
    const o = num(out);
    forEachLine(X!.shape, ax, (base, step, len) => {
      let s = 0;
      for (let j = 0; j < len; j++) s += Math.abs(x[base + j * step]!) ** p;
      const norm = s ** (1 / p);
      for (let j = 0; j < len; j++) o[base + j * step] = castValue(x[base + j * step]! / norm, out.dtype);
    });
    return [out];
  },
};
