/** Linear algebra, convolution, pooling, normalisation and softmax kernels. */
import { broadcastIndex, broadcastShapes, castValue, dt, EvalError, make, normAxis, num, size, strides, type NDArray } from './array.js';
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

interface Geometry {
  kernel: number[];
  strides: number[];
  dil: number[];
  padBegin: number[];
  outSpatial: number[];
}

function geometry(a: Attrs, inSpatial: number[], kernel: number[], ceil: boolean): Geometry {
  const n = kernel.length;
  const st = a.ints('strides') ?? kernel.map(() => 1);
  const dil = a.ints('dilations') ?? kernel.map(() => 1);
  let pads = a.ints('pads') ?? new Array(2 * n).fill(0);
  const auto = a.s('auto_pad', 'NOTSET');
  if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    pads = new Array(2 * n).fill(0);
    inSpatial.forEach((d, i) => {
      const out = Math.ceil(d / st[i]!);
      const total = Math.max(0, (out - 1) * st[i]! + dil[i]! * (kernel[i]! - 1) + 1 - d);
      const small = Math.floor(total / 2);
      pads[i] = auto === 'SAME_UPPER' ? small : total - small;
      pads[i + n] = total - pads[i]!;
    });
  } else if (auto === 'VALID') pads = new Array(2 * n).fill(0);
  const outSpatial = inSpatial.map((d, i) => {
    const eff = dil[i]! * (kernel[i]! - 1) + 1;
    const num0 = d + pads[i]! + pads[i + n]! - eff;
    let o = (ceil ? Math.ceil(num0 / st[i]!) : Math.floor(num0 / st[i]!)) + 1;
    // A window may not start in the end padding (PyTorch / ONNX ceil_mode rule).
    if (ceil && (o - 1) * st[i]! >= d + pads[i]!) o--;
    return o;
  });
  return { kernel, strides: st, dil, padBegin: pads.slice(0, n), outSpatial };
}

/** Iterates over every point of a (small) multi-dimensional box. */
function* box(shape: number[]): Generator<number[]> {
  const n = size(shape);
  const st = strides(shape);
  for (let i = 0; i < n; i++) yield shape.map((d, k) => Math.floor(i / st[k]!) % d);
}

function conv([X, W, B]: (NDArray | null)[], a: Attrs): NDArray[] {
  const [n, c] = X!.shape as [number, number];
  const inSp = X!.shape.slice(2);
  const m = W!.shape[0]!;
  const group = a.i('group', 1);
  const cg = c / group;
  const mg = m / group;
  const kernel = a.ints('kernel_shape') ?? W!.shape.slice(2);
  const g = geometry(a, inSp, kernel, false);
  const out = make(X!.dtype, [n, m, ...g.outSpatial]);
  const o = num(out);
  const x = num(X!);
  const w = num(W!);
  const b = B ? num(B) : null;
  const xs = strides(X!.shape);
  const ws = strides(W!.shape);
  const os = strides(out.shape);
  const kpts = [...box(kernel)];
  for (const [bn, oc] of box([n, m])) {
    const grp = Math.floor(oc! / mg);
    for (const op of box(g.outSpatial)) {
      let s = b ? b[oc!]! : 0;
      for (let ic = 0; ic < cg; ic++) {
        const cin = grp * cg + ic;
        for (const kp of kpts) {
          let xo = bn! * xs[0]! + cin * xs[1]!;
          let inside = true;
          for (let d = 0; d < kernel.length; d++) {
            const pos = op[d]! * g.strides[d]! - g.padBegin[d]! + kp[d]! * g.dil[d]!;
            if (pos < 0 || pos >= inSp[d]!) {
              inside = false;
              break;
            }
            xo += pos * xs[d + 2]!;
          }
          if (!inside) continue;
          let wo = oc! * ws[0]! + ic * ws[1]!;
          for (let d = 0; d < kernel.length; d++) wo += kp[d]! * ws[d + 2]!;
          s += x[xo]! * w[wo]!;
        }
      }
      let oo = bn! * os[0]! + oc! * os[1]!;
      for (let d = 0; d < op.length; d++) oo += op[d]! * os[d + 2]!;
      o[oo] = castValue(s, out.dtype);
    }
  }
  return [out];
}

function convTranspose([X, W, B]: (NDArray | null)[], a: Attrs): NDArray[] {
  const [n, c] = X!.shape as [number, number];
  const inSp = X!.shape.slice(2);
  const nd = inSp.length;
  const group = a.i('group', 1);
  const mg = W!.shape[1]!;
  const m = mg * group;
  const cg = c / group;
  const kernel = a.ints('kernel_shape') ?? W!.shape.slice(2);
  const st = a.ints('strides') ?? kernel.map(() => 1);
  const dil = a.ints('dilations') ?? kernel.map(() => 1);
  const outPad = a.ints('output_padding') ?? kernel.map(() => 0);
  let pads = a.ints('pads') ?? new Array(2 * nd).fill(0);
  const full = inSp.map((d, i) => st[i]! * (d - 1) + outPad[i]! + (kernel[i]! - 1) * dil[i]! + 1);
  const explicit = a.ints('output_shape');
  const auto = a.s('auto_pad', 'NOTSET');
  let outSp: number[];
  if (explicit || auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    outSp = explicit ? explicit.slice(-nd) : inSp.map((d, i) => d * st[i]!);
    pads = new Array(2 * nd).fill(0);
    outSp.forEach((o, i) => {
      const total = full[i]! - o;
      // The spec gives the extra padding cell to the end only for SAME_UPPER.
      const upper = auto === 'SAME_UPPER';
      pads[i] = upper ? Math.floor(total / 2) : total - Math.floor(total / 2);
      pads[i + nd] = total - pads[i]!;
    });
  } else outSp = full.map((f, i) => f - pads[i]! - pads[i + nd]!);
  const out = make(X!.dtype, [n, m, ...outSp]);
  const o = num(out);
  const x = num(X!);
  const w = num(W!);
  const xs = strides(X!.shape);
  const ws = strides(W!.shape);
  const os = strides(out.shape);
  for (const [bn, ic] of box([n, c])) {
    const grp = Math.floor(ic! / cg);
    for (const ip of box(inSp)) {
      let xo = bn! * xs[0]! + ic! * xs[1]!;
      for (let d = 0; d < nd; d++) xo += ip[d]! * xs[d + 2]!;
      const xv = x[xo]!;
      for (let oc = 0; oc < mg; oc++) {
        for (const kp of box(kernel)) {
          let oo = bn! * os[0]! + (grp * mg + oc) * os[1]!;
          let inside = true;
          for (let d = 0; d < nd; d++) {
            const pos = ip[d]! * st[d]! + kp[d]! * dil[d]! - pads[d]!;
            if (pos < 0 || pos >= outSp[d]!) {
              inside = false;
              break;
            }
            oo += pos * os[d + 2]!;
          }
          if (!inside) continue;
          let wo = ic! * ws[0]! + oc * ws[1]!;
          for (let d = 0; d < nd; d++) wo += kp[d]! * ws[d + 2]!;
          o[oo] += xv * w[wo]!;
        }
      }
    }
  }
  if (B) {
    const b = num(B);
    const inner = size(outSp);
    for (let i = 0; i < o.length; i++) o[i] += b[Math.floor(i / inner) % m]!;
  }
  return [round(out)];
}

function pool(kind: 'max' | 'avg' | 'lp'): Kernel {
  return ([X], a) => {
    const [n, c] = X!.shape as [number, number];
    const inSp = X!.shape.slice(2);
    const kernel = a.ints('kernel_shape')!;
    const g = geometry(a, inSp, kernel, a.i('ceil_mode', 0) === 1);
    const includePad = a.i('count_include_pad', 0) === 1;
    const p = a.i('p', 2);
    const out = make(X!.dtype, [n, c, ...g.outSpatial]);
    const idxOut = make(dt('int64'), [n, c, ...g.outSpatial]);
    const o = num(out);
    const io = num(idxOut);
    const x = num(X!);
    const xs = strides(X!.shape);
    const kpts = [...box(kernel)];
    const storage = a.i('storage_order', 0);
    let q = 0;
    for (const [bn, ch] of box([n, c])) {
      for (const op of box(g.outSpatial)) {
        let best = -Infinity;
        let bestIdx = 0;
        let sum = 0;
        let count = 0;
        let padCount = 0;
        for (const kp of kpts) {
          let xo = bn! * xs[0]! + ch! * xs[1]!;
          let inside = true;
          let inPadded = true;
          for (let d = 0; d < kernel.length; d++) {
            const pos = op[d]! * g.strides[d]! - g.padBegin[d]! + kp[d]! * g.dil[d]!;
            if (pos < 0 || pos >= inSp[d]!) inside = false;
            // count_include_pad counts padding cells but not cells past the explicit padding (ceil mode).
            const padEnd = (a.ints('pads') ?? [])[d + kernel.length] ?? 0;
            if (pos >= inSp[d]! + padEnd) inPadded = false;
            xo += pos * xs[d + 2]!;
          }
          if (inPadded) padCount++;
          if (!inside) continue;
          const v = x[xo]!;
          count++;
          if (kind === 'max' && v > best) {
            best = v;
            let flat = 0;
            const ps: number[] = [];
            for (let d = 0; d < kernel.length; d++) ps.push(op[d]! * g.strides[d]! - g.padBegin[d]! + kp[d]! * g.dil[d]!);
            if (storage === 0) flat = ((bn! * c + ch!) * size(inSp)) + ps.reduce((s, v2, d) => s + v2 * strides(inSp)[d]!, 0);
            else flat = ((bn! * c + ch!) * size(inSp)) + ps.reduceRight((s, v2, d) => s * inSp[d]! + v2, 0);
            bestIdx = flat;
          }
          sum += kind === 'lp' ? Math.abs(v) ** p : v;
        }
        o[q] = castValue(kind === 'max' ? best : kind === 'lp' ? sum ** (1 / p) : sum / (includePad ? padCount : count), out.dtype);
        io[q] = bestIdx;
        q++;
      }
    }
    return kind === 'max' ? [out, idxOut] : [out];
  };
}

function globalPool(kind: 'max' | 'avg' | 'lp'): Kernel {
  return ([X], a) => {
    const [n, c] = X!.shape as [number, number];
    const inner = size(X!.shape.slice(2));
    const p = a.i('p', 2);
    const out = make(X!.dtype, [n, c, ...X!.shape.slice(2).map(() => 1)]);
    const x = num(X!);
    const o = num(out);
    for (let i = 0; i < n * c; i++) {
      let acc = kind === 'max' ? -Infinity : 0;
      for (let j = 0; j < inner; j++) {
        const v = x[i * inner + j]!;
        if (kind === 'max') acc = Math.max(acc, v);
        else acc += kind === 'lp' ? Math.abs(v) ** p : v;
      }
      o[i] = castValue(kind === 'avg' ? acc / inner : kind === 'lp' ? acc ** (1 / p) : acc, out.dtype);
    }
    return [out];
  };
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
    const ax = normAxis(a.i('axis', ctx.opset < 13 ? 1 : -1), r);
    const len = ctx.opset < 13 ? size(X!.shape.slice(ax)) : X!.shape[ax]!;
    const step = ctx.opset < 13 ? 1 : size(X!.shape.slice(ax + 1));
    const groups = x.length / len;
    for (let gi = 0; gi < groups; gi++) {
      const base = ctx.opset < 13 ? gi * len : Math.floor(gi / step) * len * step + (gi % step);
      let mx = -Infinity;
      let arg = 0;
      for (let j = 0; j < len; j++) if (x[base + j * step]! > mx) { mx = x[base + j * step]!; arg = j; }
      let s = 0;
      for (let j = 0; j < len; j++) s += Math.exp(x[base + j * step]! - mx);
      for (let j = 0; j < len; j++) {
        const v = x[base + j * step]!;
        o[base + j * step] = castValue(kind === 'softmax' ? Math.exp(v - mx) / s : kind === 'log' ? v - mx - Math.log(s) : +(j === arg), out.dtype);
      }
    }
    return [out];
  };
}

export const NN_KERNELS: Record<string, Kernel> = {
  MatMul: ([a, b]) => [matmul(a!, b!)],
  Gemm: gemm,
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: pool('max'),
  AveragePool: pool('avg'),
  LpPool: pool('lp'),
  GlobalAveragePool: globalPool('avg'),
  GlobalMaxPool: globalPool('max'),
  GlobalLpPool: globalPool('lp'),
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
    const perGroup = ctx.opset < 21 && sd.length === groups;
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
    const len = X!.shape[ax]!;
    const step = size(X!.shape.slice(ax + 1));
    const x = num(X!);
    const out = make(X!.dtype, [...X!.shape]);
    const o = num(out);
    for (let g = 0; g < x.length / len; g++) {
      const base = Math.floor(g / step) * len * step + (g % step);
      let s = 0;
      for (let j = 0; j < len; j++) s += Math.abs(x[base + j * step]!) ** p;
      const norm = s ** (1 / p);
      for (let j = 0; j < len; j++) o[base + j * step] = castValue(x[base + j * step]! / norm, out.dtype);
    }
    return [out];
  },
};
