/** Convolution and pooling kernels (N-D, groups, dilations, auto_pad, ceil_mode, count_include_pad). */
import { castValue, dt, make, num, size, strides, type NDArray } from '../ir/array.js';
import type { Attrs, Kernel } from './kernel.js';

function round(a: NDArray): NDArray {
  const d = num(a);
  for (let i = 0; i < d.length; i++) d[i] = castValue(d[i]!, a.dtype);
  return a;
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
    const inStrides = strides(inSp);
    // count_include_pad counts padding cells, but not cells past the explicit end padding (ceil mode).
    const explicitPads = a.ints('pads') ?? [];
    const padEnd = kernel.map((_, d) => explicitPads[d + kernel.length] ?? 0);
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
            if (pos >= inSp[d]! + padEnd[d]!) inPadded = false;
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
            if (storage === 0) flat = ((bn! * c + ch!) * size(inSp)) + ps.reduce((s, v2, d) => s + v2 * inStrides[d]!, 0);
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

export const CONV_KERNELS: Record<string, Kernel> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: pool('max'),
  AveragePool: pool('avg'),
  LpPool: pool('lp'),
  GlobalAveragePool: globalPool('avg'),
  GlobalMaxPool: globalPool('max'),
  GlobalLpPool: globalPool('lp'),
};
