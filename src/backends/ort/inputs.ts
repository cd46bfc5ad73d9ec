/**
 * Inputs for run/verify/bench: seeded random tensors of the right dtypes and shapes, and checks of user-given
 * bundles (missing inputs, wrong dtype or rank, symbolic dims left unbound) with one-line errors.
 */
import { MsgraphError } from '../../errors.js';
import { dtypeFromName } from '../../ir/dtype.js';
import type { Model } from '../../ir/model.js';
import type { Dim } from '../../ir/shape.js';
import { Tensor } from '../../ir/tensor.js';
import { floatToHalf } from '../../ir/array.js';

/** Deterministic pseudo-random numbers (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RandomInputOptions {
  /** Value for symbolic dims not named in `dims`; without it an unbound symbolic dim is an error. */
  dimValue?: number;
  /** Per-name values of symbolic dims. */
  dims?: Record<string, number>;
  /** Integers are drawn from [0, intRange). */
  intRange?: number;
  /** Full shapes per input name (`--shape`). */
  shapes?: Record<string, number[]>;
  /** Bytes all random inputs may take together (default 4 GiB). */
  maxBytes?: number;
}

/** What random inputs may take together unless the caller says otherwise (training graphs take GBs of weights). */
export const MAX_RANDOM_INPUT_BYTES = 4 * 2 ** 30;

export function concreteShape(name: string, shape: readonly Dim[], opts: RandomInputOptions): number[] {
  const fixed = opts.shapes?.[name];
  if (fixed) {
    if (fixed.length !== shape.length) throw new MsgraphError('usage', `--shape ${name}: rank ${fixed.length}, but the input has rank ${shape.length}`);
    shape.forEach((d, i) => {
      if (typeof d === 'number' && d !== fixed[i]) throw new MsgraphError('usage', `--shape ${name}: dim ${i} is ${d} in the model, not ${fixed[i]}`);
    });
    return fixed;
  }
  return shape.map((d) => {
    if (typeof d === 'number') return d;
    const v = (typeof d === 'string' ? opts.dims?.[d] : undefined) ?? opts.dimValue;
    if (v === undefined) {
      const example = shape.map((x) => (typeof x === 'number' ? String(x) : String(x ?? 'N').toUpperCase())).join('x');
      throw new MsgraphError('usage', `input ${name}: symbolic dim ${d ?? '?'} is unbound`, { hint: `pass --shape ${name}=${example} with a number for every dim` });
    }
    return v;
  });
}

/** Floats uniform in [-1, 1), integers in [0, intRange), bools fair coins. */
export function randomInputs(model: Model, seed = 1, opts: RandomInputOptions = {}): Map<string, Tensor> {
  const next = rng(seed);
  const feeds = new Map<string, Tensor>();
  // Sizes are checked for every input before anything is allocated.
  const limit = opts.maxBytes ?? MAX_RANDOM_INPUT_BYTES;
  let total = 0;
  const planned = model.graph.inputs.filter((v) => !v.const).map((v) => {
    const t = v.type;
    if (!t || t.kind !== 'tensor' || !t.dtype || !t.shape) throw new MsgraphError('unsupported', `input ${v.name} has no tensor type`);
    const dims = concreteShape(v.name, t.shape, opts);
    const n = dims.reduce((a, b) => a * b, 1);
    total += Math.ceil((n * t.dtype.bits) / 8);
    if (!(total <= limit)) {
      throw new MsgraphError('usage', `input ${v.name}: ${t.dtype.name}[${dims.join('x')}] takes the random inputs past ${limit} bytes`, { hint: 'pass smaller --shape values, or give the inputs as a bundle (--inputs)' });
    }
    return { v, dims, n, dtype: t.dtype };
  });
  for (const { v, dims, n, dtype } of planned) {
    const bytes = new Uint8Array(Math.ceil((n * dtype.bits) / 8));
    const dv = new DataView(bytes.buffer);
    const ir = opts.intRange ?? 4;
    for (let i = 0; i < n; i++) {
      const r = next();
      switch (dtype.name) {
        case 'float32': dv.setFloat32(i * 4, r * 2 - 1, true); break;
        case 'float64': dv.setFloat64(i * 8, r * 2 - 1, true); break;
        case 'float16': dv.setUint16(i * 2, floatToHalf(r * 2 - 1), true); break;
        case 'int64': dv.setBigInt64(i * 8, BigInt(Math.floor(r * ir)), true); break;
        case 'int32': dv.setInt32(i * 4, Math.floor(r * ir), true); break;
        case 'bool': bytes[i] = r < 0.5 ? 1 : 0; break;
        case 'uint8': bytes[i] = Math.floor(r * 256); break;
        default: throw new MsgraphError('unsupported', `cannot make random ${dtype.name} data for input ${v.name}`);
      }
    }
    feeds.set(v.name, Tensor.fromBytes(dtypeFromName(dtype.name)!, dims, bytes, v.name));
  }
  return feeds;
}

/** Checks a bundle against the model's inputs: every input present, dtype (float for float) and rank right, static dims equal. */
export function checkFeeds(model: Model, feeds: Map<string, Tensor>, file = '<inputs>'): void {
  const names = new Set<string>();
  for (const v of model.graph.inputs) {
    if (v.const && !feeds.has(v.name)) continue;
    names.add(v.name);
    const t = feeds.get(v.name);
    if (!t) throw new MsgraphError('usage', `input ${v.name} is missing from the bundle`, { file });
    const want = v.type?.kind === 'tensor' ? v.type : null;
    // A float bundle feeds a float input of another width (float16 I/O): the session converts it.
    if (want?.dtype && want.dtype !== t.dtype && !(want.dtype.kind === 'float' && t.dtype.kind === 'float')) throw new MsgraphError('usage', `input ${v.name} is ${t.dtype.name}, the model wants ${want.dtype.name}`, { file });
    if (want?.shape) {
      if (want.shape.length !== t.dims.length) throw new MsgraphError('usage', `input ${v.name} has rank ${t.dims.length}, the model wants rank ${want.shape.length} [${want.shape.map((d) => d ?? '?').join(',')}]`, { file });
      want.shape.forEach((d, i) => {
        if (typeof d === 'number' && d !== t.dims[i]) throw new MsgraphError('usage', `input ${v.name} dim ${i} is ${t.dims[i]}, the model wants ${d}`, { file });
      });
    }
  }
  for (const k of feeds.keys()) if (!names.has(k)) throw new MsgraphError('usage', `the bundle has an input ${k} the model does not take`, { file });
}
