/** Reductions, arg-reductions, CumSum, TopK and Einsum. */
import { castValue, dt, forEachLine, intsOf, make, normAxis, num, size, strides, type NDArray } from '../ir/array.js';
import type { Attrs, EvalCtx, Kernel } from './kernel.js';

type Acc = { init: number; step: (acc: number, v: number) => number; done: (acc: number, n: number) => number };

const ACC: Record<string, Acc> = {
  ReduceSum: { init: 0, step: (a, v) => a + v, done: (a) => a },
  ReduceMean: { init: 0, step: (a, v) => a + v, done: (a, n) => a / n },
  ReduceMax: { init: -Infinity, step: (a, v) => (Number.isNaN(v) || v > a ? v : a), done: (a) => a },
  ReduceMin: { init: Infinity, step: (a, v) => (Number.isNaN(v) || v < a ? v : a), done: (a) => a },
  ReduceProd: { init: 1, step: (a, v) => a * v, done: (a) => a },
  ReduceL1: { init: 0, step: (a, v) => a + Math.abs(v), done: (a) => a },
  ReduceL2: { init: 0, step: (a, v) => a + v * v, done: (a) => Math.sqrt(a) },
  ReduceSumSquare: { init: 0, step: (a, v) => a + v * v, done: (a) => a },
  ReduceLogSum: { init: 0, step: (a, v) => a + v, done: (a) => Math.log(a) },
  ReduceLogSumExp: { init: 0, step: (a, v) => a + Math.exp(v), done: (a) => Math.log(a) },
};

function reduce(op: string): Kernel {
  return ([X, axesIn], a: Attrs, ctx: EvalCtx) => {
    const r = X!.shape.length;
    const raw = a.ints('axes') ?? (axesIn ? intsOf(axesIn) : []);
    const keep = a.i('keepdims', 1) === 1;
    if (raw.length === 0 && a.i('noop_with_empty_axes', 0) === 1) return [X!];
    const axes = new Set((raw.length ? raw : X!.shape.map((_, i) => i)).map((q) => normAxis(q, r)));
    const outShapeKeep = X!.shape.map((d, i) => (axes.has(i) ? 1 : d));
    const acc = ACC[op]!;
    const n = size(outShapeKeep);
    const vals = new Float64Array(n).fill(acc.init);
    const counts = size(X!.shape) / Math.max(n, 1);
    const x = num(X!);
    const xs = strides(X!.shape);
    const os = strides(outShapeKeep);
    for (let i = 0; i < x.length; i++) {
      let o = 0;
      for (let k = 0; k < r; k++) if (!axes.has(k)) o += (Math.floor(i / xs[k]!) % X!.shape[k]!) * os[k]!;
      vals[o] = acc.step(vals[o]!, x[i]!);
    }
    for (let i = 0; i < n; i++) vals[i] = castValue(acc.done(vals[i]!, counts), X!.dtype);
    // An empty reduction of a max/min keeps the identity; numpy gives -inf/inf, as here.
    const shape = keep ? outShapeKeep : X!.shape.filter((_, i) => !axes.has(i));
    return [make(X!.dtype, shape, vals)];
  };
}

function argReduce(max: boolean): Kernel {
  return ([X], a) => {
    const r = X!.shape.length;
    const ax = normAxis(a.i('axis', 0), r);
    const keep = a.i('keepdims', 1) === 1;
    const last = a.i('select_last_index', 0) === 1;
    const x = num(X!);
    const out = new Float64Array(X!.shape[ax] ? x.length / X!.shape[ax]! : 0);
    forEachLine(X!.shape, ax, (base, step, len, g) => {
      let best = 0;
      for (let j = 1; j < len; j++) {
        const v = x[base + j * step]!;
        const b = x[base + best * step]!;
        if (max ? v > b || (last && v === b) : v < b || (last && v === b)) best = j;
      }
      out[g] = best;
    });
    const shape = keep ? X!.shape.map((d, i) => (i === ax ? 1 : d)) : X!.shape.filter((_, i) => i !== ax);
    return [make(dt('int64'), shape, out)];
  };
}

function cumsum([X, axA]: (NDArray | null)[], a: Attrs): NDArray[] {
  const ax = normAxis(num(axA!)[0]!, X!.shape.length);
  const exclusive = a.i('exclusive', 0) === 1;
  const reverse = a.i('reverse', 0) === 1;
  const x = num(X!);
  const out = make(X!.dtype, [...X!.shape]);
  const o = num(out);
  forEachLine(X!.shape, ax, (base, step, len) => {
    let s = 0;
    for (let t = 0; t < len; t++) {
      const j = reverse ? len - 1 - t : t;
      const v = x[base + j * step]!;
      if (exclusive) {
        o[base + j * step] = castValue(s, out.dtype);
        s += v;
      } else {
        s += v;
        o[base + j * step] = castValue(s, out.dtype);
      }
    }
  });
  return [out];
}

function topk([X, kA]: (NDArray | null)[], a: Attrs, ctx: EvalCtx): NDArray[] {
  const r = X!.shape.length;
  const ax = normAxis(a.i('axis', -1), r);
  const k = a.has('k') ? a.i('k', 1) : num(kA!)[0]!;
  const largest = a.i('largest', 1) === 1;
  const shape = X!.shape.map((d, i) => (i === ax ? k : d));
  const vals = make(X!.dtype, shape);
  const idx = make(dt('int64'), shape);
  const x = num(X!);
  forEachLine(X!.shape, ax, (base, step, len, g) => {
    const order = Array.from({ length: len }, (_, j) => j);
    order.sort((p, q) => {
      const vp = x[base + p * step]!;
      const vq = x[base + q * step]!;
      if (vp !== vq) return largest ? vq - vp : vp - vq;
      return p - q;
    });
    const obase = Math.floor(g / step) * k * step + (g % step);
    for (let j = 0; j < k; j++) {
      num(vals)[obase + j * step] = x[base + order[j]! * step]!;
      num(idx)[obase + j * step] = order[j]!;
    }
  });
  return [vals, idx];
}

function einsum(ins: (NDArray | null)[], a: Attrs): NDArray[] {
  const xs = ins as NDArray[];
  const eq = a.s('equation', '').replace(/\s/g, '');
  const [lhs, rhsIn] = eq.split('->');
  // Ellipsis dims become capital letters, aligned from the right across inputs as numpy broadcasts them.
  const ellCounts = lhs!.split(',').map((t, i) => (t.includes('...') ? xs[i]!.shape.length - (t.length - 3) : 0));
  const E = Math.max(0, ...ellCounts);
  const ellAll = 'ABCDEFGHIJKLMNOP'.slice(0, E);
  const terms = lhs!.split(',').map((t, i) => t.replace('...', ellAll.slice(E - ellCounts[i]!)));
  const sizes = new Map<string, number>();
  terms.forEach((t, i) => [...t].forEach((ch, k) => sizes.set(ch, Math.max(sizes.get(ch) ?? 1, xs[i]!.shape[k]!))));
  let rhs: string;
  if (rhsIn === undefined) {
    const counts = new Map<string, number>();
    for (const ch of terms.join('')) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    rhs = ellAll + [...counts].filter(([ch, n]) => n === 1 && ch >= 'a').map(([ch]) => ch).sort().join('');
  } else rhs = rhsIn.replace('...', ellAll);
  const outLetters = [...rhs];
  const sumLetters = [...sizes.keys()].filter((ch) => !outLetters.includes(ch));
  const all = [...outLetters, ...sumLetters];
  const dims = all.map((ch) => sizes.get(ch)!);
  const outShape = outLetters.map((ch) => sizes.get(ch)!);
  const out = make(xs[0]!.dtype, outShape);
  const o = num(out);
  const st = xs.map((x) => strides(x.shape));
  const nAll = size(dims);
  const allSt = strides(dims);
  const nSum = size(sumLetters.map((ch) => sizes.get(ch)!));
  for (let i = 0; i < nAll; i++) {
    const val = new Map<string, number>();
    all.forEach((ch, k) => val.set(ch, Math.floor(i / allSt[k]!) % dims[k]!));
    let prod = 1;
    terms.forEach((t, ti) => {
      let off = 0;
      [...t].forEach((ch, k) => (off += (xs[ti]!.shape[k] === 1 ? 0 : val.get(ch)!) * st[ti]![k]!));
      prod *= num(xs[ti]!)[off]!;
    });
    o[Math.floor(i / nSum)] += prod;
  }
  for (let i = 0; i < o.length; i++) o[i] = castValue(o[i]!, out.dtype);
  return [out];
}

export const REDUCE_KERNELS: Record<string, Kernel> = {
  ...Object.fromEntries(Object.keys(ACC).map((op) => [op, reduce(op)])),
  ArgMax: argReduce(true),
  ArgMin: argReduce(false),
  CumSum: cumsum,
  TopK: topk,
  Einsum: einsum,
};
