/**
 * Dense arrays for the reference evaluator. Every numeric dtype is held as float64 values (int64 exact up to
 * 2^53, which covers shape arithmetic and indices); results are rounded back to the dtype on output, so float32
 * add/mul/div/sqrt are correctly rounded as in any IEEE implementation.
 */
import { dtypeFromName, type DType } from './dtype.js';
import { Tensor } from './tensor.js';

export interface NDArray {
  dtype: DType;
  shape: number[];
  /** Row-major values; strings for string tensors. */
  data: Float64Array | string[];
}

export class EvalError extends Error {}

export const dt = (name: string): DType => dtypeFromName(name)!;

export function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function strides(shape: readonly number[]): number[] {
  const s = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

export function make(dtype: DType, shape: number[], data?: Float64Array | string[]): NDArray {
  return { dtype, shape, data: data ?? new Float64Array(size(shape)) };
}

export function num(a: NDArray): Float64Array {
  if (!(a.data instanceof Float64Array)) throw new EvalError('expected a numeric tensor');
  return a.data;
}

export function scalarOf(a: NDArray | null | undefined, what: string): number {
  if (!a || a.data.length < 1) throw new EvalError(`${what} is missing`);
  return num(a)[0]!;
}

export function intsOf(a: NDArray | null | undefined): number[] {
  return a ? Array.from(num(a)) : [];
}

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** One float32 and its bits, for the conversions below (a fresh array per value made them 50 times slower). */
const F32_BOX = new Float32Array(1);
const U32_BOX = new Uint32Array(F32_BOX.buffer);

export function floatToHalf(x: number): number {
  F32_BOX[0] = x;
  const u = U32_BOX[0]!;
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  let mant = u & 0x7fffff;
  if (((u >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    const half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rem > mid || (rem === mid && half & 1) ? 1 : 0));
  }
  const half = (exp << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  return sign | (half + (rem > 0x1000 || (rem === 0x1000 && half & 1) ? 1 : 0));
}

function bf16ToFloat(b: number): number {
  U32_BOX[0] = b << 16;
  return F32_BOX[0]!;
}

export function floatToBf16(x: number): number {
  F32_BOX[0] = x;
  const u = U32_BOX[0]!;
  if (Number.isNaN(x)) return 0x7fc0;
  return (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
}

export function fromTensor(t: Tensor): NDArray {
  const shape = [...t.dims];
  if (t.isString) return make(t.dtype, shape, t.strings.map((b) => new TextDecoder().decode(b)));
  const n = size(shape);
  const out = new Float64Array(n);
  const b = t.bytes;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const name = t.dtype.name;
  for (let i = 0; i < n; i++) {
    switch (name) {
      case 'float32': out[i] = dv.getFloat32(i * 4, true); break;
      case 'float64': out[i] = dv.getFloat64(i * 8, true); break;
      case 'float16': out[i] = halfToFloat(dv.getUint16(i * 2, true)); break;
      case 'bfloat16': out[i] = bf16ToFloat(dv.getUint16(i * 2, true)); break;
      case 'int8': out[i] = dv.getInt8(i); break;
      case 'uint8': case 'bool': out[i] = dv.getUint8(i); break;
      case 'int16': out[i] = dv.getInt16(i * 2, true); break;
      case 'uint16': out[i] = dv.getUint16(i * 2, true); break;
      case 'int32': out[i] = dv.getInt32(i * 4, true); break;
      case 'uint32': out[i] = dv.getUint32(i * 4, true); break;
      case 'int64': out[i] = Number(dv.getBigInt64(i * 8, true)); break;
      case 'uint64': out[i] = Number(dv.getBigUint64(i * 8, true)); break;
      default: throw new EvalError(`the evaluator does not handle ${name}`);
    }
  }
  return make(t.dtype, shape, out);
}

/** Converts a value to what the dtype can hold (rounding floats, wrapping integers as C casts do). */
export function castValue(x: number, dtype: DType): number {
  switch (dtype.name) {
    case 'float32': return Math.fround(x);
    case 'float16': return halfToFloat(floatToHalf(x));
    case 'bfloat16': return bf16ToFloat(floatToBf16(x));
    case 'float64': return x;
    case 'bool': return x !== 0 ? 1 : 0;
    case 'int8': return (Math.trunc(x) << 24) >> 24;
    case 'uint8': return Math.trunc(x) & 0xff;
    case 'int16': return (Math.trunc(x) << 16) >> 16;
    case 'uint16': return Math.trunc(x) & 0xffff;
    case 'int32': return Number.isFinite(x) ? Math.trunc(x) | 0 : x > 0 ? 2147483647 : -2147483648;
    case 'uint32': return Math.trunc(x) >>> 0;
    case 'int64': case 'uint64': return Number.isFinite(x) ? Math.trunc(x) : x > 0 ? 2 ** 63 - 1 : -(2 ** 63);
    default: throw new EvalError(`the evaluator does not handle ${dtype.name}`);
  }
}

export function toTensor(a: NDArray, name = ''): Tensor {
  if (!(a.data instanceof Float64Array)) return Tensor.fromStrings(a.shape, a.data.map((s) => new TextEncoder().encode(s)), a.dtype, name);
  const n = a.data.length;
  const bytes = new Uint8Array(Math.ceil((n * a.dtype.bits) / 8));
  const dv = new DataView(bytes.buffer);
  const d = a.data;
  for (let i = 0; i < n; i++) {
    const x = d[i]!;
    switch (a.dtype.name) {
      case 'float32': dv.setFloat32(i * 4, x, true); break;
      case 'float64': dv.setFloat64(i * 8, x, true); break;
      case 'float16': dv.setUint16(i * 2, floatToHalf(x), true); break;
      case 'bfloat16': dv.setUint16(i * 2, floatToBf16(x), true); break;
      case 'int8': dv.setInt8(i, castValue(x, a.dtype)); break;
      case 'uint8': case 'bool': dv.setUint8(i, castValue(x, a.dtype)); break;
      case 'int16': dv.setInt16(i * 2, castValue(x, a.dtype), true); break;
      case 'uint16': dv.setUint16(i * 2, castValue(x, a.dtype), true); break;
      case 'int32': dv.setInt32(i * 4, castValue(x, a.dtype), true); break;
      case 'uint32': dv.setUint32(i * 4, castValue(x, a.dtype), true); break;
      case 'int64': dv.setBigInt64(i * 8, toInt64(x), true); break;
      case 'uint64': dv.setBigUint64(i * 8, BigInt.asUintN(64, BigInt(Math.trunc(x))), true); break;
      default: throw new EvalError(`the evaluator does not handle ${a.dtype.name}`);
    }
  }
  return Tensor.fromBytes(a.dtype, a.shape, bytes, name);
}

/** A double as int64, saturating: 2^63 and above (INT64_MAX sentinels read as doubles) become INT64_MAX. */
function toInt64(x: number): bigint {
  if (Number.isNaN(x)) return 0n;
  if (x >= 2 ** 63) return 2n ** 63n - 1n;
  if (x <= -(2 ** 63)) return -(2n ** 63n);
  return BigInt(Math.trunc(x));
}

/** Numpy broadcasting: the output shape and, per input, a function from output index to input index. */
export function broadcastShapes(shapes: number[][]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const x = s[s.length - rank + i] ?? 1;
      if (x === 1) continue;
      if (d !== 1 && d !== x) throw new EvalError(`cannot broadcast [${shapes.map((q) => q.join(',')).join('] and [')}]`);
      d = x;
    }
    out.push(d);
  }
  return out;
}

/** For each output element, the flat index into an input of `shape` broadcast to `out`. */
export function broadcastIndex(shape: number[], out: number[]): Int32Array {
  const n = size(out);
  const idx = new Int32Array(n);
  const rank = out.length;
  const inS = strides(shape);
  const pad = rank - shape.length;
  const outS = strides(out);
  for (let o = 0; o < n; o++) {
    let src = 0;
    for (let k = pad; k < rank; k++) {
      const d = shape[k - pad]!;
      if (d !== 1) src += (Math.floor(o / outS[k]!) % out[k]!) * inS[k - pad]!;
    }
    idx[o] = src;
  }
  return idx;
}

export function normAxis(a: number, rank: number): number {
  const r = a < 0 ? a + rank : a;
  if (r < 0 || r >= Math.max(rank, 1)) throw new EvalError(`axis ${a} out of range for rank ${rank}`);
  return r;
}

/** Calls `fn` once per 1-D line along `axis`; element j of a line sits at `base + j * step`. */
export function forEachLine(shape: readonly number[], axis: number, fn: (base: number, step: number, len: number, line: number) => void): void {
  const len = shape[axis]!;
  const step = size(shape.slice(axis + 1));
  const lines = len === 0 ? 0 : size(shape) / len;
  for (let g = 0; g < lines; g++) fn(Math.floor(g / step) * len * step + (g % step), step, len, g);
}
