/**
 * Element types: ONNX TensorProto.DataType codes <-> numpy spellings <-> MindSpore names.
 * `bits` is the storage width of one element in raw (little-endian, packed for sub-byte types) form.
 */
export type DTypeName =
  | 'float32' | 'uint8' | 'int8' | 'uint16' | 'int16' | 'int32' | 'int64' | 'string' | 'bool'
  | 'float16' | 'float64' | 'uint32' | 'uint64' | 'complex64' | 'complex128' | 'bfloat16'
  | 'float8e4m3fn' | 'float8e4m3fnuz' | 'float8e5m2' | 'float8e5m2fnuz' | 'uint4' | 'int4'
  | 'float4e2m1' | 'float8e8m0' | 'uint2' | 'int2';

export interface DTypeInfo {
  readonly name: DTypeName;
  readonly onnx: number;
  readonly bits: number;
  /** MindSpore dtype expression, or null where MindSpore has no such type. */
  readonly ms: string | null;
  readonly kind: 'float' | 'int' | 'uint' | 'bool' | 'complex' | 'string';
}

const TABLE: readonly DTypeInfo[] = [
  { name: 'float32', onnx: 1, bits: 32, ms: 'ms.float32', kind: 'float' },
  { name: 'uint8', onnx: 2, bits: 8, ms: 'ms.uint8', kind: 'uint' },
  { name: 'int8', onnx: 3, bits: 8, ms: 'ms.int8', kind: 'int' },
  { name: 'uint16', onnx: 4, bits: 16, ms: 'ms.uint16', kind: 'uint' },
  { name: 'int16', onnx: 5, bits: 16, ms: 'ms.int16', kind: 'int' },
  { name: 'int32', onnx: 6, bits: 32, ms: 'ms.int32', kind: 'int' },
  { name: 'int64', onnx: 7, bits: 64, ms: 'ms.int64', kind: 'int' },
  { name: 'string', onnx: 8, bits: 0, ms: 'ms.string', kind: 'string' },
  { name: 'bool', onnx: 9, bits: 8, ms: 'ms.bool_', kind: 'bool' },
  { name: 'float16', onnx: 10, bits: 16, ms: 'ms.float16', kind: 'float' },
  { name: 'float64', onnx: 11, bits: 64, ms: 'ms.float64', kind: 'float' },
  { name: 'uint32', onnx: 12, bits: 32, ms: 'ms.uint32', kind: 'uint' },
  { name: 'uint64', onnx: 13, bits: 64, ms: 'ms.uint64', kind: 'uint' },
  { name: 'complex64', onnx: 14, bits: 64, ms: 'ms.complex64', kind: 'complex' },
  { name: 'complex128', onnx: 15, bits: 128, ms: 'ms.complex128', kind: 'complex' },
  { name: 'bfloat16', onnx: 16, bits: 16, ms: 'ms.bfloat16', kind: 'float' },
  { name: 'float8e4m3fn', onnx: 17, bits: 8, ms: null, kind: 'float' },
  { name: 'float8e4m3fnuz', onnx: 18, bits: 8, ms: null, kind: 'float' },
  { name: 'float8e5m2', onnx: 19, bits: 8, ms: null, kind: 'float' },
  { name: 'float8e5m2fnuz', onnx: 20, bits: 8, ms: null, kind: 'float' },
  { name: 'uint4', onnx: 21, bits: 4, ms: null, kind: 'uint' },
  { name: 'int4', onnx: 22, bits: 4, ms: 'ms.qint4x2', kind: 'int' },
  { name: 'float4e2m1', onnx: 23, bits: 4, ms: null, kind: 'float' },
  { name: 'float8e8m0', onnx: 24, bits: 8, ms: null, kind: 'float' },
  { name: 'uint2', onnx: 25, bits: 2, ms: null, kind: 'uint' },
  { name: 'int2', onnx: 26, bits: 2, ms: null, kind: 'int' },
];

const BY_ONNX = new Map<number, DTypeInfo>(TABLE.map((d) => [d.onnx, d]));
const BY_NAME = new Map<string, DTypeInfo>(TABLE.map((d) => [d.name, d]));

export type DType = DTypeInfo;

export function dtypeFromOnnx(code: number): DTypeInfo | undefined {
  return BY_ONNX.get(code);
}

export function dtypeFromName(name: string): DTypeInfo | undefined {
  return BY_NAME.get(name);
}

export function allDTypes(): readonly DTypeInfo[] {
  return TABLE;
}

/** Bytes needed to hold `count` elements in raw form (sub-byte types packed, rounded up). */
export function byteLength(dtype: DTypeInfo, count: number): number {
  return Math.ceil((count * dtype.bits) / 8);
}
