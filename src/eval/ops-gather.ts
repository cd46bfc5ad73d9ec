/** Gather and scatter kernels. */
import { EvalError, make, normAxis, num, size, strides, type NDArray } from '../ir/array.js';
import type { Attrs, Kernel } from './kernel.js';
import { mapCoords } from './ops-shape.js';

function gather([x, idx]: (NDArray | null)[], a: Attrs): NDArray[] {
  const r = x!.shape.length;
  const ax = normAxis(a.i('axis', 0), r);
  const ind = num(idx!);
  const shape = [...x!.shape.slice(0, ax), ...idx!.shape, ...x!.shape.slice(ax + 1)];
  const is = strides(x!.shape);
  const ir = idx!.shape.length;
  const istr = strides(idx!.shape);
  return [mapCoords(x!, shape, (c) => {
    let flat = 0;
    for (let k = 0; k < ir; k++) flat += c[ax + k]! * istr[k]!;
    let i = ind[flat]!;
    if (i < 0) i += x!.shape[ax]!;
    if (i < 0 || i >= x!.shape[ax]!) throw new EvalError(`Gather index ${ind[flat]} out of range`);
    let s = i * is[ax]!;
    for (let k = 0; k < ax; k++) s += c[k]! * is[k]!;
    for (let k = ax + 1; k < r; k++) s += c[k + ir - 1]! * is[k]!;
    return s;
  })];
}

function gatherElements([x, idx]: (NDArray | null)[], a: Attrs): NDArray[] {
  const ax = normAxis(a.i('axis', 0), x!.shape.length);
  const is = strides(x!.shape);
  const ids = strides(idx!.shape);
  const ind = num(idx!);
  return [mapCoords(x!, [...idx!.shape], (c) => {
    let i = ind[c.reduce((s, v, k) => s + v * ids[k]!, 0)]!;
    if (i < 0) i += x!.shape[ax]!;
    return c.reduce((s, v, k) => s + (k === ax ? i : v) * is[k]!, 0);
  })];
}

function gatherND([x, idx]: (NDArray | null)[], a: Attrs): NDArray[] {
  const b = a.i('batch_dims', 0);
  const last = idx!.shape[idx!.shape.length - 1]!;
  const outShape = [...idx!.shape.slice(0, -1), ...x!.shape.slice(b + last)];
  const is = strides(x!.shape);
  const ids = strides(idx!.shape);
  const ind = num(idx!);
  const lead = idx!.shape.length - 1;
  return [mapCoords(x!, outShape, (c) => {
    let s = 0;
    for (let k = 0; k < b; k++) s += c[k]! * is[k]!;
    let base = 0;
    for (let k = 0; k < lead; k++) base += c[k]! * ids[k]!;
    for (let j = 0; j < last; j++) {
      let i = ind[base + j]!;
      if (i < 0) i += x!.shape[b + j]!;
      s += i * is[b + j]!;
    }
    for (let k = lead; k < c.length; k++) s += c[k]! * is[b + last + (k - lead)]!;
    return s;
  })];
}

function reduceInto(kind: string, old: number, v: number): number {
  switch (kind) {
    case 'add': return old + v;
    case 'mul': return old * v;
    case 'max': return Math.max(old, v);
    case 'min': return Math.min(old, v);
    default: return v;
  }
}

function scatterND([x, idx, upd]: (NDArray | null)[], a: Attrs): NDArray[] {
  const out = make(x!.dtype, [...x!.shape], Float64Array.from(num(x!)));
  const o = num(out);
  const last = idx!.shape[idx!.shape.length - 1]!;
  const is = strides(x!.shape);
  const slice = size(x!.shape.slice(last));
  const ind = num(idx!);
  const u = num(upd!);
  const red = a.s('reduction', 'none');
  const n = size(idx!.shape.slice(0, -1));
  for (let k = 0; k < n; k++) {
    let base = 0;
    for (let j = 0; j < last; j++) {
      let i = ind[k * last + j]!;
      if (i < 0) i += x!.shape[j]!;
      base += i * is[j]!;
    }
    for (let e = 0; e < slice; e++) o[base + e] = reduceInto(red, o[base + e]!, u[k * slice + e]!);
  }
  return [out];
}

function scatterElements([x, idx, upd]: (NDArray | null)[], a: Attrs): NDArray[] {
  const ax = normAxis(a.i('axis', 0), x!.shape.length);
  const out = make(x!.dtype, [...x!.shape], Float64Array.from(num(x!)));
  const o = num(out);
  const is = strides(x!.shape);
  const us = strides(idx!.shape);
  const ind = num(idx!);
  const u = num(upd!);
  const red = a.s('reduction', 'none');
  for (let k = 0; k < ind.length; k++) {
    let dst = 0;
    for (let d = 0; d < idx!.shape.length; d++) {
      let c = Math.floor(k / us[d]!) % idx!.shape[d]!;
      if (d === ax) {
        c = ind[k]!;
        if (c < 0) c += x!.shape[ax]!;
      }
      dst += c * is[d]!;
    }
    o[dst] = reduceInto(red, o[dst]!, u[k]!);
  }
  return [out];
}

export const GATHER_KERNELS: Record<string, Kernel> = {
  Gather: gather,
  GatherElements: gatherElements,
  GatherND: gatherND,
  ScatterND: scatterND,
  ScatterElements: scatterElements,
  Scatter: scatterElements,
};
