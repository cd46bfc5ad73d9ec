/** Element-wise comparison of an expected and an actual tensor (no onnxruntime here: the page uses it too). */
import type { Tensor } from '../../ir/tensor.js';
import { fromTensor, num } from '../../ir/array.js';

export interface Tolerance {
  /** Allowed error relative to the largest magnitude of the expected tensor. */
  rtol: number;
  atol: number;
}

export interface Comparison {
  name: string;
  ok: boolean;
  maxAbs: number;
  maxRel: number;
  mismatches: number;
  elements: number;
  /** Set when the tensors cannot be compared element-wise. */
  problem?: string;
}

export function compareTensors(name: string, want: Tensor, got: Tensor, tol: Tolerance): Comparison {
  const base = { name, maxAbs: 0, maxRel: 0, mismatches: 0, elements: want.size };
  if (want.dtype !== got.dtype) return { ...base, ok: false, maxAbs: Infinity, maxRel: Infinity, mismatches: want.size, problem: `dtype ${got.dtype.name}, expected ${want.dtype.name}` };
  if (want.dims.length !== got.dims.length || want.dims.some((d, i) => d !== got.dims[i])) {
    return { ...base, ok: false, maxAbs: Infinity, maxRel: Infinity, mismatches: want.size, problem: `shape [${got.dims.join(',')}], expected [${want.dims.join(',')}]` };
  }
  if (want.isString) {
    const ok = want.strings.every((s, i) => new TextDecoder().decode(s) === new TextDecoder().decode(got.strings[i]!));
    return { ...base, ok, mismatches: ok ? 0 : 1 };
  }
  const a = num(fromTensor(want));
  const b = num(fromTensor(got));
  let mag = 0;
  for (const x of a) if (Number.isFinite(x)) mag = Math.max(mag, Math.abs(x));
  const exact = want.dtype.kind !== 'float';
  const allowed = exact ? 0 : tol.atol + tol.rtol * mag;
  let maxAbs = 0;
  let mismatches = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(x) || Number.isNaN(y) || !Number.isFinite(x) || !Number.isFinite(y)) {
      if (!(Number.isNaN(x) && Number.isNaN(y)) && x !== y) mismatches++;
      continue;
    }
    const d = Math.abs(x - y);
    if (d > maxAbs) maxAbs = d;
    if (d > allowed) mismatches++;
  }
  return { ...base, ok: mismatches === 0, maxAbs, maxRel: mag > 0 ? maxAbs / mag : maxAbs, mismatches };
}

/** Cosine similarity of two tensors taken as vectors (1 when both are all zeros, 0 when one is, NaN when sizes differ). */
export function cosine(want: Tensor, got: Tensor): number {
  if (want.isString || want.size !== got.size) return NaN;
  const a = num(fromTensor(want));
  const b = num(fromTensor(got));
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  // All zeros on one side only: nothing in common (0), not 0/0.
  if (aa === 0 || bb === 0) return aa === bb ? 1 : 0;
  return ab / Math.sqrt(aa * bb);
}
