import { MsgraphError } from '../../errors.js';
import { byteLength, dtypeFromOnnx, type DType } from '../../ir/dtype.js';
import type { Dim, Shape, ValueType } from '../../ir/shape.js';
import { Tensor, type ByteSource } from '../../ir/tensor.js';
import type { SparseTensor } from '../../ir/attribute.js';
import type { DimensionP, SparseTensorP, TensorP, TypeP } from './proto.js';

/** Reads external tensor data; implemented by file-system adapters (Node) or in-memory maps (browser). */
export interface ExternalDataResolver {
  /**
   * Validates the reference now (refusing escapes, missing or short files) and returns a loader for the bytes.
   * `length` is undefined when the entry omits it (rest of the file from `offset`).
   */
  resolve(location: string, offset: number, length: number | undefined, tensor: string): ByteSource;
  /** Where the model file was read without its large payloads: the source of a raw_data view that was left out. */
  inFile?(view: Uint8Array): ByteSource | undefined;
}

export const noExternalData: ExternalDataResolver = {
  resolve(location, _o, _l, tensor) {
    throw new MsgraphError('external-data', `tensor ${JSON.stringify(tensor)} refers to external file ${JSON.stringify(location)} but no model directory is known`, {
      hint: 'load the model from a file path, or provide its external data files',
    });
  },
};

export function dtypeOf(code: number, what: string): DType {
  const d = dtypeFromOnnx(code);
  if (!d) throw new MsgraphError('dtype', `unknown data type ${code} in ${what}`);
  return d;
}

export function tensorFromP(t: TensorP, ext: ExternalDataResolver): Tensor {
  const what = `tensor ${JSON.stringify(t.name)}`;
  const dtype = dtypeOf(t.dataType, what);
  const dims = t.dims;
  for (const d of dims) if (d < 0) throw new MsgraphError('model', `${what} has negative dimension ${d}`);
  if (t.segment) throw new MsgraphError('unsupported', `${what} is a segment of a larger tensor (TensorProto.segment)`);
  const size = dims.reduce((a, b) => a * b, 1);
  const tensor = tensorData(t, dtype, dims, size, ext, what);
  tensor.docString = t.docString;
  for (const e of t.metadata) tensor.metadata.set(e.key, e.value);
  return tensor;
}

function tensorData(t: TensorP, dtype: DType, dims: number[], size: number, ext: ExternalDataResolver, what: string): Tensor {
  if (t.dataLocation === 1) {
    const kv = new Map(t.externalData.map((e) => [e.key, e.value]));
    const location = kv.get('location');
    if (!location) throw new MsgraphError('external-data', `${what} is stored externally but names no location`);
    const offset = parseExtInt(kv.get('offset'), 'offset', what) ?? 0;
    const length = parseExtInt(kv.get('length'), 'length', what);
    const want = byteLength(dtype, size);
    if (dtype.name === 'string') throw new MsgraphError('unsupported', `${what}: string tensors cannot be stored externally`);
    const ref = ext.resolve(location, offset, length, t.name);
    if (ref.length !== want) {
      throw new MsgraphError('external-data', `${what} needs ${want} bytes but its external data (${location}) has ${ref.length}`);
    }
    return Tensor.lazy(dtype, dims, ref, { location, offset, length: ref.length }, t.name);
  }
  if (dtype.name === 'string') {
    if (t.stringData.length !== size) throw new MsgraphError('model', `${what} has ${t.stringData.length} strings for ${size} elements`);
    return Tensor.fromStrings(dims, t.stringData, dtype, t.name);
  }
  const want = byteLength(dtype, size);
  const raw = t.rawData;
  if (raw) {
    if (raw.length !== want) {
      throw new MsgraphError('model', `${what} (${dtype.name}[${dims.join(',')}]) has ${raw.length} bytes of raw_data, expected ${want}`);
    }
    const onDisk = raw instanceof Uint8Array ? ext.inFile?.(raw) : raw;
    return onDisk ? Tensor.lazy(dtype, dims, onDisk, null, t.name) : Tensor.fromBytes(dtype, dims, raw as Uint8Array, t.name);
  }
  return Tensor.fromBytes(dtype, dims, typedFieldBytes(t, dtype, size, want, what), t.name);
}

function parseExtInt(s: string | undefined, key: string, what: string): number | undefined {
  if (s === undefined) return undefined;
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) {
    throw new MsgraphError('external-data', `${what}: external data ${key} ${JSON.stringify(s)} is not a non-negative integer`);
  }
  return Number(s);
}

/** Converts the typed repeated fields (float_data, int32_data, ...) to raw little-endian bytes. */
function typedFieldBytes(t: TensorP, dtype: DType, size: number, want: number, what: string): Uint8Array {
  // Counts are checked before allocating what the dims claim: a few bytes of protobuf can declare any size.
  const [field, have, need] = typedField(t, dtype, size, want);
  if (have !== need) throw new MsgraphError('model', `${what} (${dtype.name}) has ${have} values in ${field}, expected ${need}`);
  const out = new Uint8Array(want);
  const dv = new DataView(out.buffer);
  const check = (have: number, need: number, field: string) => {
    if (have !== need) throw new MsgraphError('model', `${what} (${dtype.name}) has ${have} values in ${field}, expected ${need}`);
  };
  switch (dtype.name) {
    case 'float32':
    case 'complex64': {
      const n = dtype.name === 'float32' ? size : size * 2;
      check(t.floatData.length, n, 'float_data');
      t.floatData.forEach((v, i) => dv.setFloat32(i * 4, v, true));
      return out;
    }
    case 'float64':
    case 'complex128': {
      const n = dtype.name === 'float64' ? size : size * 2;
      check(t.doubleData.length, n, 'double_data');
      t.doubleData.forEach((v, i) => dv.setFloat64(i * 8, v, true));
      return out;
    }
    case 'int64':
      check(t.int64Data.length, size, 'int64_data');
      t.int64Data.forEach((v, i) => dv.setBigInt64(i * 8, BigInt(v), true));
      return out;
    case 'uint32':
      check(t.uint64Data.length, size, 'uint64_data');
      t.uint64Data.forEach((v, i) => dv.setUint32(i * 4, Number(v), true));
      return out;
    case 'uint64':
      check(t.uint64Data.length, size, 'uint64_data');
      t.uint64Data.forEach((v, i) => dv.setBigUint64(i * 8, BigInt.asUintN(64, BigInt(v)), true));
      return out;
    case 'int32':
      check(t.int32Data.length, size, 'int32_data');
      t.int32Data.forEach((v, i) => dv.setInt32(i * 4, v, true));
      return out;
    case 'int16':
    case 'uint16':
    case 'float16':
    case 'bfloat16':
      check(t.int32Data.length, size, 'int32_data');
      t.int32Data.forEach((v, i) => dv.setUint16(i * 2, v & 0xffff, true));
      return out;
    default:
      if (dtype.bits === 8) {
        check(t.int32Data.length, size, 'int32_data');
        t.int32Data.forEach((v, i) => (out[i] = v & 0xff));
        return out;
      }
      if (dtype.bits < 8) {
        // Sub-byte types: each int32 holds one already-packed byte.
        check(t.int32Data.length, want, 'int32_data');
        t.int32Data.forEach((v, i) => (out[i] = v & 0xff));
        return out;
      }
      throw new MsgraphError('unsupported', `${what}: cannot read ${dtype.name} from typed fields`);
  }
}

/** The typed field a dtype is stored in, how many values it has and how many the dims need. */
function typedField(t: TensorP, dtype: DType, size: number, want: number): [string, number, number] {
  switch (dtype.name) {
    case 'float32': return ['float_data', t.floatData.length, size];
    case 'complex64': return ['float_data', t.floatData.length, size * 2];
    case 'float64': return ['double_data', t.doubleData.length, size];
    case 'complex128': return ['double_data', t.doubleData.length, size * 2];
    case 'int64': return ['int64_data', t.int64Data.length, size];
    case 'uint32':
    case 'uint64': return ['uint64_data', t.uint64Data.length, size];
    default: return ['int32_data', t.int32Data.length, dtype.bits < 8 ? want : size];
  }
}

/** Sparse initializers are densified; past this size that would take more memory than a model should claim by accident. */
const MAX_DENSE_BYTES = 2 ** 31;

export function sparseFromP(s: SparseTensorP, ext: ExternalDataResolver, what: string): SparseTensor {
  if (!s.values || !s.indices) throw new MsgraphError('model', `sparse ${what} lacks values or indices`);
  return { values: tensorFromP(s.values, ext), indices: tensorFromP(s.indices, ext), dims: s.dims };
}

/** Expands a sparse tensor to a dense one (sparse initializers become ordinary constants). */
export function densify(s: SparseTensor, name: string): Tensor {
  const { values, indices, dims } = s;
  const dtype = values.dtype;
  if (dtype.bits < 8 || dtype.name === 'string') throw new MsgraphError('unsupported', `sparse initializer ${JSON.stringify(name)} of ${dtype.name}`);
  if (indices.dtype.name !== 'int64') throw new MsgraphError('model', `sparse initializer ${JSON.stringify(name)} has ${indices.dtype.name} indices, expected int64`);
  const esz = dtype.bits / 8;
  const size = dims.reduce((a, b) => a * b, 1);
  if (!(size * esz <= MAX_DENSE_BYTES)) {
    throw new MsgraphError('unsupported', `sparse initializer ${JSON.stringify(name)} would be ${size * esz} bytes dense (limit ${MAX_DENSE_BYTES})`);
  }
  const out = new Uint8Array(size * esz);
  const nnz = values.size;
  const idx = indices.toArray() as BigInt64Array;
  const vb = values.bytes;
  const rank = dims.length;
  const strides = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
  const coordinate = indices.dims.length === 2;
  if ((coordinate && (indices.dims[0] !== nnz || indices.dims[1] !== rank)) || (!coordinate && indices.size !== nnz)) {
    throw new MsgraphError('model', `sparse initializer ${JSON.stringify(name)}: indices shape [${indices.dims.join(',')}] does not fit ${nnz} values of rank ${rank}`);
  }
  for (let k = 0; k < nnz; k++) {
    let lin = 0;
    if (coordinate) for (let d = 0; d < rank; d++) lin += Number(idx[k * rank + d]) * strides[d]!;
    else lin = Number(idx[k]);
    if (lin < 0 || lin >= size) throw new MsgraphError('model', `sparse initializer ${JSON.stringify(name)}: index ${lin} out of range`);
    out.set(vb.subarray(k * esz, (k + 1) * esz), lin * esz);
  }
  return Tensor.fromBytes(dtype, dims, out, name);
}

export function typeFromP(t: TypeP | null, what: string): ValueType | null {
  if (!t) return null;
  const den = t.denotation ? { denotation: t.denotation } : {};
  switch (t.kind) {
    case 'tensor':
    case 'sparse_tensor':
      return { kind: t.kind, dtype: t.elemType ? dtypeOf(t.elemType, what) : null, shape: t.shape ? t.shape.map(dimFromP) : null, ...den };
    case 'sequence':
    case 'optional':
      return { kind: t.kind, elem: typeFromP(t.elem, what), ...den };
    case 'map':
      return { kind: 'map', key: t.keyType ? dtypeOf(t.keyType, what) : null, value: typeFromP(t.value, what), ...den };
    case 'none':
      return null;
  }
}

function dimFromP(d: DimensionP): Dim {
  if (d.value !== undefined) return d.value;
  if (d.param !== undefined && d.param !== '') return d.param;
  return null;
}

export function dimToP(d: Dim): DimensionP {
  if (typeof d === 'number') return { value: d };
  if (typeof d === 'string') return { param: d };
  return {};
}

export function typeToP(t: ValueType | null): TypeP | null {
  if (!t) return null;
  const den = t.denotation ? { denotation: t.denotation } : {};
  switch (t.kind) {
    case 'tensor':
    case 'sparse_tensor':
      return { kind: t.kind, elemType: t.dtype?.onnx ?? 0, shape: t.shape ? (t.shape as Shape).map(dimToP) : null, ...den };
    case 'sequence':
    case 'optional': {
      // A container whose element type is unknown cannot be written: onnxruntime rejects an empty element type.
      const elem = typeToP(t.elem);
      return elem && elem.kind !== 'none' ? { kind: t.kind, elem, ...den } : null;
    }
    case 'map': {
      const value = typeToP(t.value);
      return t.key && value && value.kind !== 'none' ? { kind: 'map', keyType: t.key.onnx, value, ...den } : null;
    }
  }
}
