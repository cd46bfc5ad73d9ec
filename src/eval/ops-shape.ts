/** Shape manipulation kernels. */
import { dtypeFromOnnx } from '../ir/dtype.js';
import { dt, EvalError, intsOf, make, normAxis, num, size, strides, type NDArray } from '../ir/array.js';
import type { Attrs, EvalCtx, Kernel } from './kernel.js';

const i64 = dt('int64');

/** Builds an output of `shape` whose element at each coordinate comes from `src(coords)` (a flat input index). */
export function mapCoords(x: NDArray, shape: number[], src: (c: number[]) => number): NDArray {
  const n = size(shape);
  const os = strides(shape);
  const c = new Array<number>(shape.length);
  const from = x.data as ArrayLike<number | string>;
  const out: NDArray = x.data instanceof Float64Array ? make(x.dtype, shape) : make(x.dtype, shape, new Array<string>(n));
  const to = out.data as { [i: number]: number | string };
  for (let o = 0; o < n; o++) {
    for (let k = 0; k < shape.length; k++) c[k] = Math.floor(o / os[k]!) % shape[k]!;
    to[o] = from[src(c)]!;
  }
  return out;
}

const reshaped = (x: NDArray, shape: number[]): NDArray => ({ dtype: x.dtype, shape, data: x.data });

function reshape([x, s]: (NDArray | null)[], a: Attrs, ctx: EvalCtx): NDArray[] {
  const target = a.ints('shape') ?? intsOf(s);
  const allowzero = a.i('allowzero', 0) === 1;
  const out = target.map((d, i) => (d === 0 && !allowzero ? x!.shape[i]! : d));
  const m = out.indexOf(-1);
  if (m >= 0) out[m] = size(x!.shape) / size(out.filter((_, i) => i !== m));
  if (size(out) !== size(x!.shape)) throw new EvalError(`cannot reshape [${x!.shape}] to [${target}]`);
  return [reshaped(x!, out)];
}

function transpose([x]: (NDArray | null)[], a: Attrs): NDArray[] {
  const r = x!.shape.length;
  const perm = a.ints('perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
  const is = strides(x!.shape);
  return [mapCoords(x!, perm.map((p) => x!.shape[p]!), (c) => c.reduce((s, v, k) => s + v * is[perm[k]!]!, 0))];
}

function concat(ins: (NDArray | null)[], a: Attrs): NDArray[] {
  const xs = ins.filter((x): x is NDArray => x !== null);
  const ax = normAxis(a.i('axis', 0), xs[0]!.shape.length);
  const shape = [...xs[0]!.shape];
  shape[ax] = xs.reduce((s, x) => s + x.shape[ax]!, 0);
  const outer = size(shape.slice(0, ax));
  const parts: (number | string)[] = [];
  for (let o = 0; o < outer; o++) {
    for (const x of xs) {
      const inner = size(x.shape.slice(ax));
      parts.push(...(Array.from(x.data as ArrayLike<number | string>).slice(o * inner, (o + 1) * inner)));
    }
  }
  const data = xs[0]!.data instanceof Float64Array ? Float64Array.from(parts as number[]) : (parts as string[]);
  return [make(xs[0]!.dtype, shape, data)];
}

function sliceK([x, st, en, ax, sp]: (NDArray | null)[], a: Attrs, ctx: EvalCtx): NDArray[] {
  const r = x!.shape.length;
  const starts = a.ints('starts') ?? intsOf(st);
  const ends = a.ints('ends') ?? intsOf(en);
  const axes = a.ints('axes') ?? (ax ? intsOf(ax) : starts.map((_, i) => i));
  const steps = a.ints('steps') ?? (sp ? intsOf(sp) : axes.map(() => 1));
  const picks = x!.shape.map((d) => Array.from({ length: d }, (_, i) => i));
  axes.forEach((a0, k) => {
    const axis = normAxis(a0, r);
    const d = x!.shape[axis]!;
    const step = steps[k]!;
    if (step === 0) throw new EvalError('Slice step 0');
    let s = starts[k]!;
    let e = ends[k]!;
    s = s < 0 ? s + d : s;
    e = e < 0 ? e + d : e;
    const list: number[] = [];
    if (step > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
      for (let i = s; i < e; i += step) list.push(i);
    } else {
      s = Math.min(Math.max(s, -1), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
      for (let i = s; i > e; i += step) list.push(i);
    }
    picks[axis] = list;
  });
  const is = strides(x!.shape);
  return [mapCoords(x!, picks.map((p) => p.length), (c) => c.reduce((s, v, k) => s + picks[k]![v]! * is[k]!, 0))];
}

function expand([x, s]: (NDArray | null)[]): NDArray[] {
  const target = intsOf(s);
  const rank = Math.max(target.length, x!.shape.length);
  const xs = [...Array(rank - x!.shape.length).fill(1), ...x!.shape];
  const ts = [...Array(rank - target.length).fill(1), ...target];
  const shape = xs.map((d, i) => (d === 1 ? ts[i]! : d));
  const is = strides(xs);
  return [mapCoords(x!, shape, (c) => c.reduce((acc, v, k) => acc + (xs[k] === 1 ? 0 : v) * is[k]!, 0))];
}

function tile([x, r]: (NDArray | null)[]): NDArray[] {
  const reps = intsOf(r);
  const shape = x!.shape.map((d, i) => d * reps[i]!);
  const is = strides(x!.shape);
  return [mapCoords(x!, shape, (c) => c.reduce((acc, v, k) => acc + (v % x!.shape[k]!) * is[k]!, 0))];
}

function pad([x, p, cv, axesIn]: (NDArray | null)[], a: Attrs, ctx: EvalCtx): NDArray[] {
  const r = x!.shape.length;
  const raw = a.ints('pads') ?? intsOf(p);
  const axes = (a.ints('axes') ?? (axesIn ? intsOf(axesIn) : null))?.map((q) => normAxis(q, r)) ?? Array.from({ length: r }, (_, i) => i);
  const begin = new Array<number>(r).fill(0);
  const end = new Array<number>(r).fill(0);
  axes.forEach((ax, k) => {
    begin[ax] = raw[k]!;
    end[ax] = raw[k + axes.length]!;
  });
  const mode = a.s('mode', 'constant');
  const value = a.has('value') ? a.f('value', 0) : cv ? num(cv)[0]! : 0;
  const shape = x!.shape.map((d, i) => d + begin[i]! + end[i]!);
  const is = strides(x!.shape);
  const n = size(shape);
  const os = strides(shape);
  const out = make(x!.dtype, shape);
  const o = num(out);
  const xd = num(x!);
  for (let q = 0; q < n; q++) {
    let src = 0;
    let outside = false;
    for (let k = 0; k < r; k++) {
      const d = x!.shape[k]!;
      let c = (Math.floor(q / os[k]!) % shape[k]!) - begin[k]!;
      if (c < 0 || c >= d) {
        if (mode === 'constant') outside = true;
        else if (mode === 'edge') c = c < 0 ? 0 : d - 1;
        else if (mode === 'reflect') {
          const period = 2 * (d - 1);
          c = period === 0 ? 0 : Math.abs(((c % period) + period) % period);
          if (c >= d) c = period - c;
        } else if (mode === 'wrap') c = ((c % d) + d) % d;
      }
      src += c * is[k]!;
    }
    o[q] = outside ? value : xd[src]!;
  }
  return [out];
}

function split([x, sp]: (NDArray | null)[], a: Attrs, ctx: EvalCtx): NDArray[] {
  const r = x!.shape.length;
  const ax = normAxis(a.i('axis', 0), r);
  const d = x!.shape[ax]!;
  const n = ctx.outputs;
  let sizes = a.ints('split') ?? (sp ? intsOf(sp) : undefined);
  if (!sizes) {
    const chunk = Math.ceil(d / n);
    sizes = Array.from({ length: n }, (_, i) => (i < n - 1 ? chunk : d - chunk * (n - 1)));
  }
  let start = 0;
  return sizes.map((len) => {
    const picks = x!.shape.map((dd) => Array.from({ length: dd }, (_, i) => i));
    picks[ax] = Array.from({ length: len }, (_, i) => start + i);
    start += len;
    const is = strides(x!.shape);
    return mapCoords(x!, picks.map((p) => p.length), (c) => c.reduce((s, v, k) => s + picks[k]![v]! * is[k]!, 0));
  });
}

function squeeze([x, ax]: (NDArray | null)[], a: Attrs, ctx: EvalCtx): NDArray[] {
  const r = x!.shape.length;
  const axes = (a.ints('axes') ?? (ax ? intsOf(ax) : undefined))?.map((q) => normAxis(q, r));
  const shape = x!.shape.filter((d, i) => (axes ? !axes.includes(i) : d !== 1));
  return [reshaped(x!, shape)];
}

function unsqueeze([x, ax]: (NDArray | null)[], a: Attrs, ctx: EvalCtx): NDArray[] {
  const axesRaw = a.ints('axes') ?? intsOf(ax);
  const rank = x!.shape.length + axesRaw.length;
  const axes = axesRaw.map((q) => normAxis(q, rank));
  const shape: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) shape.push(axes.includes(i) ? 1 : x!.shape[k++]!);
  return [reshaped(x!, shape)];
}

function spaceDepth(toSpace: boolean): Kernel {
  return ([x], a) => {
    const b = a.i('blocksize', 1);
    const [n, c, h, w] = x!.shape as [number, number, number, number];
    const crd = a.s('mode', 'DCR') === 'CRD';
    const is = strides(x!.shape);
    if (toSpace) {
      const oc = c / (b * b);
      return [mapCoords(x!, [n, oc, h * b, w * b], ([ni, ci, yi, xi]) => {
        const bi = yi! % b;
        const bj = xi! % b;
        const src = crd ? ci! * b * b + bi * b + bj : (bi * b + bj) * oc + ci!;
        return ni! * is[0]! + src * is[1]! + Math.floor(yi! / b) * is[2]! + Math.floor(xi! / b) * is[3]!;
      })];
    }
    return [mapCoords(x!, [n, c * b * b, h / b, w / b], ([ni, ci, yi, xi]) => {
      const src = ci! % c;
      const blk = Math.floor(ci! / c);
      const bi = Math.floor(blk / b);
      const bj = blk % b;
      return ni! * is[0]! + src * is[1]! + (yi! * b + bi) * is[2]! + (xi! * b + bj) * is[3]!;
    })];
  };
}

export const SHAPE_KERNELS: Record<string, Kernel> = {
  Identity: ([x]) => [x!],
  Dropout: ([x, ratioIn, trainingIn], a, ctx) => {
    const training = a.has('training_mode') ? a.i('training_mode', 0) === 1 : trainingIn ? num(trainingIn)[0] !== 0 : false;
    const ratio = a.has('ratio') ? a.f('ratio', 0.5) : ratioIn ? num(ratioIn)[0]! : 0.5;
    if (training && ratio > 0) throw new EvalError('training-mode Dropout draws random masks; not implemented in the reference evaluator');
    const out: NDArray[] = [x!];
    if (ctx.outputs > 1) out.push(make(dt('bool'), [...x!.shape], new Float64Array(size(x!.shape)).fill(1)));
    return out;
  },
  Reshape: reshape,
  Flatten: ([x], a) => {
    const r = x!.shape.length;
    let ax = a.i('axis', 1);
    if (ax < 0) ax += r;
    return [reshaped(x!, [size(x!.shape.slice(0, ax)), size(x!.shape.slice(ax))])];
  },
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Transpose: transpose,
  Concat: concat,
  Slice: sliceK,
  Expand: expand,
  Tile: tile,
  Pad: pad,
  Split: split,
  Shape: ([x], a) => {
    const r = x!.shape.length;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
    const s = clamp(a.i('start', 0));
    const e = a.has('end') ? clamp(a.i('end', r)) : r;
    const dims = x!.shape.slice(s, Math.max(s, e));
    return [make(i64, [dims.length], Float64Array.from(dims))];
  },
  Size: ([x]) => [make(i64, [], Float64Array.from([size(x!.shape)]))],
  ConstantOfShape: ([s], a) => {
    const shape = intsOf(s);
    const v = a.t('value');
    const out = make(v?.dtype ?? dt('float32'), shape);
    if (v) num(out).fill(num(v)[0]!);
    return [out];
  },
  Range: ([s, l, d]) => {
    const start = num(s!)[0]!;
    const delta = num(d!)[0]!;
    const n = Math.max(0, Math.ceil((num(l!)[0]! - start) / delta));
    return [make(s!.dtype, [n], Float64Array.from({ length: n }, (_, i) => start + i * delta))];
  },
  Constant: (_ins, a) => {
    const t = a.t('value');
    if (t) return [t];
    if (a.has('value_float')) return [make(dt('float32'), [], Float64Array.from([a.f('value_float', 0)]))];
    if (a.has('value_floats')) return [make(dt('float32'), [a.floats('value_floats')!.length], Float64Array.from(a.floats('value_floats')!))];
    if (a.has('value_int')) return [make(i64, [], Float64Array.from([a.i('value_int', 0)]))];
    if (a.has('value_ints')) return [make(i64, [a.ints('value_ints')!.length], Float64Array.from(a.ints('value_ints')!))];
    throw new EvalError('Constant with no supported value attribute');
  },
  NonZero: ([x]) => {
    const d = num(x!);
    const r = x!.shape.length;
    const st = strides(x!.shape);
    const hits: number[] = [];
    for (let i = 0; i < d.length; i++) if (d[i] !== 0) hits.push(i);
    const out = make(i64, [r, hits.length]);
    const o = num(out);
    hits.forEach((h, j) => {
      for (let k = 0; k < r; k++) o[k * hits.length + j] = Math.floor(h / st[k]!) % x!.shape[k]!;
    });
    return [out];
  },
  Trilu: ([x, kk], a) => {
    const k = kk ? num(kk)[0]! : 0;
    const upper = a.i('upper', 1) === 1;
    const [h, w] = x!.shape.slice(-2) as [number, number];
    const out = make(x!.dtype, [...x!.shape], Float64Array.from(num(x!)));
    const o = num(out);
    for (let i = 0; i < o.length; i++) {
      const row = Math.floor(i / w) % h;
      const col = i % w;
      if (upper ? col - row < k : col - row > k) o[i] = 0;
    }
    return [out];
  },
  OneHot: ([ind, depthA, vals], a) => {
    const depth = num(depthA!)[0]!;
    const [off, on] = num(vals!);
    const r = ind!.shape.length + 1;
    const ax = normAxis(a.i('axis', -1), r);
    const shape = [...ind!.shape];
    shape.splice(ax, 0, depth);
    const out = make(vals!.dtype, shape);
    const o = num(out);
    const os = strides(shape);
    const id = num(ind!);
    const is = strides(ind!.shape);
    for (let q = 0; q < o.length; q++) {
      let flat = 0;
      let pos = 0;
      for (let k = 0, j = 0; k < r; k++) {
        const c = Math.floor(q / os[k]!) % shape[k]!;
        if (k === ax) pos = c;
        else flat += c * is[j++]!;
      }
      let v = id[flat]!;
      if (v < 0) v += depth;
      o[q] = v === pos ? on! : off!;
    }
    return [out];
  },
  DepthToSpace: spaceDepth(true),
  SpaceToDepth: spaceDepth(false),
  EyeLike: ([x], a) => {
    const [h, w] = x!.shape as [number, number];
    const k = a.i('k', 0);
    const code = a.iOpt('dtype');
    const out = make(code !== undefined ? dtypeFromOnnx(code)! : x!.dtype, [h, w]);
    for (let i = 0; i < h; i++) if (i + k >= 0 && i + k < w) num(out)[i * w + i + k] = 1;
    return [out];
  },
  Compress: ([x, cond], a) => {
    const c = num(cond!);
    const ax = a.iOpt('axis');
    if (ax === undefined) {
      const d = Array.from(x!.data as ArrayLike<number>).filter((_, i) => c[i]);
      return [make(x!.dtype, [d.length], Float64Array.from(d))];
    }
    const axis = normAxis(ax, x!.shape.length);
    const keep = Array.from({ length: x!.shape[axis]! }, (_, i) => i).filter((i) => c[i]);
    const picks = x!.shape.map((d) => Array.from({ length: d }, (_, i) => i));
    picks[axis] = keep;
    const is = strides(x!.shape);
    return [mapCoords(x!, picks.map((p) => p.length), (cc) => cc.reduce((s, v, k) => s + picks[k]![v]! * is[k]!, 0))];
  },
};
