/** Resize / Upsample with every mode and coordinate transformation ONNX defines (antialias excepted). */
import { castValue, EvalError, make, num, strides, type NDArray } from '../ir/array.js';
import type { Attrs, EvalCtx, Kernel } from './kernel.js';

type Contribution = [index: number, weight: number][];

function original(mode: string, xr: number, scale: number, lenIn: number, lenOut: number, roi: [number, number], fromScales: boolean): number {
  switch (mode) {
    case 'half_pixel': return (xr + 0.5) / scale - 0.5;
    case 'pytorch_half_pixel': return lenOut > 1 ? (xr + 0.5) / scale - 0.5 : 0;
    case 'align_corners': {
      // With scales, the reference takes the unrounded resized length (length_original * scale).
      const len = fromScales ? lenIn * scale : lenOut;
      return len === 1 || lenOut === 1 ? 0 : (xr * (lenIn - 1)) / (len - 1);
    }
    case 'asymmetric': return xr / scale;
    case 'tf_half_pixel_for_nn': return (xr + 0.5) / scale;
    case 'tf_crop_and_resize':
      return lenOut > 1 ? roi[0] * (lenIn - 1) + (xr * (roi[1] - roi[0]) * (lenIn - 1)) / (lenOut - 1) : 0.5 * (roi[0] + roi[1]) * (lenIn - 1);
    case 'half_pixel_symmetric': {
      const adj = lenOut / (scale * lenIn);
      const center = lenIn / 2;
      const offset = center * (1 - adj);
      return offset + (xr + 0.5) / scale - 0.5;
    }
    default: throw new EvalError(`unknown coordinate_transformation_mode ${mode}`);
  }
}

function nearestIndex(x: number, mode: string): number {
  switch (mode) {
    case 'round_prefer_floor': return x % 1 === 0.5 ? Math.floor(x) : Math.round(x);
    case 'round_prefer_ceil': return Math.round(x);
    case 'floor': return Math.floor(x);
    case 'ceil': return Math.ceil(x);
    default: throw new EvalError(`unknown nearest_mode ${mode}`);
  }
}

/** Keys cubic convolution weights for the four taps around a fractional position `t`. */
export function cubicWeights(t: number, A: number): number[] {
  const w = (d: number) => {
    const x = Math.abs(d);
    if (x <= 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
    if (x < 2) return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    return 0;
  };
  return [w(t + 1), w(t), w(1 - t), w(2 - t)];
}

function contributions(a: Attrs, legacy: boolean, lenIn: number, lenOut: number, scale: number, roi: [number, number], fromScales: boolean): (Contribution | null)[] {
  const mode = a.s('mode', 'nearest');
  const coord = a.s('coordinate_transformation_mode', legacy ? 'asymmetric' : 'half_pixel');
  const nearest = a.s('nearest_mode', legacy ? 'floor' : 'round_prefer_floor');
  const A = a.f('cubic_coeff_a', -0.75);
  const exclude = a.i('exclude_outside', 0) === 1;
  const out: (Contribution | null)[] = [];
  for (let xr = 0; xr < lenOut; xr++) {
    const x = original(coord, xr, scale, lenIn, lenOut, roi, fromScales);
    if (coord === 'tf_crop_and_resize' && (x < 0 || x > lenIn - 1)) {
      out.push(null);
      continue;
    }
    if (mode === 'nearest') {
      out.push([[Math.min(Math.max(nearestIndex(x, nearest), 0), lenIn - 1), 1]]);
      continue;
    }
    if (mode === 'linear') {
      const xc = Math.min(Math.max(x, 0), lenIn - 1);
      const i0 = Math.floor(xc);
      const t = xc - i0;
      const i1 = Math.min(i0 + 1, lenIn - 1);
      out.push([[i0, 1 - t], [i1, t]]);
      continue;
    }
    if (mode === 'cubic') {
      const i0 = Math.floor(x);
      const ws = cubicWeights(x - i0, A);
      let c: Contribution = ws.map((w, k) => [i0 - 1 + k, w]);
      if (exclude) {
        c = c.filter(([i]) => i >= 0 && i < lenIn);
        const total = c.reduce((s, [, w]) => s + w, 0);
        c = c.map(([i, w]) => [i, w / total]);
      } else c = c.map(([i, w]) => [Math.min(Math.max(i, 0), lenIn - 1), w]);
      out.push(c);
      continue;
    }
    throw new EvalError(`unknown resize mode ${mode}`);
  }
  return out;
}

function resize(ins: (NDArray | null)[], a: Attrs, ctx: EvalCtx, upsample: boolean): NDArray[] {
  const X = ins[0]!;
  if (a.i('antialias', 0)) throw new EvalError('Resize antialias is not implemented in the reference evaluator');
  const r = X.shape.length;
  const legacy = upsample || ctx.opset < 11;
  const newest = ctx.dialect || !legacy;
  const axes = a.ints('axes')?.map((q) => (q < 0 ? q + r : q)) ?? X.shape.map((_, i) => i);
  let scales: number[] | null = null;
  let sizes: number[] | null = null;
  let roiArr: number[] = [];
  const pick = (attr: number[] | undefined, input: NDArray | null | undefined) => attr ?? (input && input.data.length ? Array.from(num(input)) : null);
  if (newest) {
    roiArr = pick(a.floats('roi'), ins[1]) ?? [];
    scales = pick(a.floats('scales'), ins[2]);
    sizes = pick(a.ints('sizes'), ins[3]);
  } else scales = pick(a.floats('scales'), ins[1]);
  if (scales && scales.length === 0) scales = null;
  if (sizes && sizes.length === 0) sizes = null;
  const full = (vals: number[], fill: number) => {
    const o = new Array<number>(r).fill(fill);
    axes.forEach((ax, k) => (o[ax] = vals[k]!));
    return o;
  };
  let sc: number[];
  let outShape: number[];
  if (sizes) {
    let sz = full(sizes, 0).map((v, i) => (axes.includes(i) ? v : X.shape[i]!));
    const policy = a.s('keep_aspect_ratio_policy', 'stretch');
    if (policy !== 'stretch') {
      const ratios = axes.map((ax) => sz[ax]! / X.shape[ax]!);
      const s = policy === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
      sz = X.shape.map((d, i) => (axes.includes(i) ? Math.round(d * s) : d));
      sc = X.shape.map((_, i) => (axes.includes(i) ? s : 1));
    } else sc = sz.map((v, i) => v / X.shape[i]!);
    outShape = sz;
  } else {
    sc = full(scales!, 1);
    if (scales!.length === r && axes.length !== r) sc = scales!;
    outShape = X.shape.map((d, i) => Math.floor(d * sc[i]!));
  }
  const roiFull = X.shape.map((_, i): [number, number] => {
    const k = axes.indexOf(i);
    if (k < 0 || roiArr.length === 0) return [0, 1];
    const n = roiArr.length / 2;
    return [roiArr[k]!, roiArr[k + n]!];
  });
  const contrib = X.shape.map((d, i) => contributions(a, legacy, d, outShape[i]!, sc[i]!, roiFull[i]!, !sizes));
  const out = make(X.dtype, outShape);
  const o = num(out);
  const x = num(X);
  const xs = strides(X.shape);
  const os = strides(outShape);
  const extrapolation = a.f('extrapolation_value', 0);
  for (let q = 0; q < o.length; q++) {
    const per = outShape.map((d, k) => contrib[k]![Math.floor(q / os[k]!) % d]!);
    if (per.some((c) => c === null)) {
      o[q] = extrapolation;
      continue;
    }
    let acc = 0;
    const rec = (k: number, off: number, w: number) => {
      if (k === r) {
        acc += w * x[off]!;
        return;
      }
      for (const [i, wi] of per[k]!) if (wi !== 0 || per[k]!.length === 1) rec(k + 1, off + i * xs[k]!, w * wi);
    };
    rec(0, 0, 1);
    o[q] = castValue(acc, out.dtype);
  }
  return [out];
}

export const RESIZE_KERNELS: Record<string, Kernel> = {
  Resize: (ins, a, ctx) => resize(ins, a, ctx, false),
  Upsample: (ins, a, ctx) => resize(ins, a, ctx, true),
};
