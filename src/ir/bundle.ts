/**
 * Tensor bundle: a JSON file `{"inputs": {name: {dtype, shape, data}}, "outputs": {...}}` where `dtype` is spelled
 * as numpy spells it and `data` is base64 of the little-endian bytes. Used for run/verify inputs and fixtures.
 */
import { MsgraphError } from '../errors.js';
import { byteLength, dtypeFromName, type DType } from './dtype.js';
import { Tensor } from './tensor.js';

export interface Bundle {
  inputs: Map<string, Tensor>;
  outputs: Map<string, Tensor>;
}

/** numpy's spellings where they differ from ours. */
const NUMPY_ALIASES: Record<string, string> = { bool_: 'bool', float: 'float64', double: 'float64', half: 'float16' };

export function parseBundle(text: string, file = '<bundle>'): Bundle {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new MsgraphError('decode', `tensor bundle is not valid JSON: ${(e as Error).message}`, { file });
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new MsgraphError('decode', 'tensor bundle must be a JSON object', { file });
  const obj = json as Record<string, unknown>;
  return { inputs: section(obj.inputs, 'inputs', file), outputs: section(obj.outputs, 'outputs', file) };
}

function section(sec: unknown, what: string, file: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  if (sec === undefined) return out;
  if (!sec || typeof sec !== 'object' || Array.isArray(sec)) throw new MsgraphError('decode', `tensor bundle "${what}" must be an object`, { file });
  for (const [name, entry] of Object.entries(sec as Record<string, unknown>)) {
    out.set(name, tensorFromEntry(name, entry, `${what}.${name}`, file));
  }
  return out;
}

function tensorFromEntry(name: string, entry: unknown, where: string, file: string): Tensor {
  const bad = (m: string) => new MsgraphError('decode', `tensor bundle ${where}: ${m}`, { file });
  if (!entry || typeof entry !== 'object') throw bad('must be an object with dtype, shape, data');
  const e = entry as Record<string, unknown>;
  const dtypeName = typeof e.dtype === 'string' ? (NUMPY_ALIASES[e.dtype] ?? e.dtype) : '';
  const dtype = dtypeFromName(dtypeName);
  if (!dtype || dtype.name === 'string') throw bad(`unknown dtype ${JSON.stringify(e.dtype)}`);
  if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad('shape must be a list of non-negative integers');
  if (typeof e.data !== 'string') throw bad('data must be a base64 string');
  let bytes: Uint8Array;
  try {
    bytes = base64Decode(e.data);
  } catch (err) {
    throw bad(`data: ${(err as Error).message}`);
  }
  const dims = e.shape as number[];
  const want = byteLength(dtype, dims.reduce((a, b) => a * b, 1));
  if (bytes.length !== want) throw bad(`data has ${bytes.length} bytes, ${dtype.name}[${dims.join(',')}] needs ${want}`);
  return Tensor.fromBytes(dtype, dims, bytes, name);
}

export function formatBundle(b: { inputs?: Map<string, Tensor>; outputs?: Map<string, Tensor> }): string {
  const sec = (m: Map<string, Tensor> | undefined) => {
    const o: Record<string, { dtype: string; shape: number[]; data: string }> = {};
    for (const [k, t] of m ?? []) o[k] = { dtype: t.dtype.name, shape: [...t.dims], data: base64Encode(t.bytes) };
    return o;
  };
  return JSON.stringify({ inputs: sec(b.inputs), outputs: sec(b.outputs) }, null, 1) + '\n';
}

export function tensorFromValues(dtype: DType, dims: number[], values: ArrayLike<number> | ArrayLike<bigint>, name = ''): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  if (values.length !== n) throw new Error(`tensorFromValues: ${values.length} values for shape [${dims.join(',')}]`);
  const bytes = new Uint8Array(byteLength(dtype, n));
  const dv = new DataView(bytes.buffer);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    switch (dtype.name) {
      case 'float32': dv.setFloat32(i * 4, Number(v), true); break;
      case 'float64': dv.setFloat64(i * 8, Number(v), true); break;
      case 'int64': dv.setBigInt64(i * 8, BigInt(v), true); break;
      case 'uint64': dv.setBigUint64(i * 8, BigInt(v), true); break;
      case 'int32': dv.setInt32(i * 4, Number(v), true); break;
      case 'uint32': dv.setUint32(i * 4, Number(v), true); break;
      case 'int16': dv.setInt16(i * 2, Number(v), true); break;
      case 'uint16': dv.setUint16(i * 2, Number(v), true); break;
      case 'int8': dv.setInt8(i, Number(v)); break;
      case 'uint8': dv.setUint8(i, Number(v)); break;
      case 'bool': dv.setUint8(i, Number(v) ? 1 : 0); break;
      default: throw new Error(`tensorFromValues: ${dtype.name} is not supported`);
    }
  }
  return Tensor.fromBytes(dtype, dims, bytes, name);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;
B64_INDEX['-'.charCodeAt(0)] = 62;
B64_INDEX['_'.charCodeAt(0)] = 63;

/** Base64 without Node's Buffer, so the bundle format works in the browser too. */
export function base64Encode(b: Uint8Array): string {
  const parts: string[] = [];
  const CH = 3 * 8192;
  for (let s = 0; s < b.length; s += CH) {
    const end = Math.min(b.length, s + CH);
    let out = '';
    for (let i = s; i < end; i += 3) {
      const n = (b[i]! << 16) | ((i + 1 < end ? b[i + 1]! : 0) << 8) | (i + 2 < end ? b[i + 2]! : 0);
      out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + (i + 1 < end ? B64[(n >> 6) & 63]! : '=') + (i + 2 < end ? B64[n & 63]! : '=');
    }
    parts.push(out);
  }
  return parts.join('');
}

export function base64Decode(s: string): Uint8Array {
  const clean = s.replace(/[\s=]/g, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < clean.length; i++) {
    const c = clean.charCodeAt(i);
    const v = c < 128 ? B64_INDEX[c]! : -1;
    if (v < 0) throw new MsgraphError('decode', `invalid base64 character at ${i}`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, o);
}
