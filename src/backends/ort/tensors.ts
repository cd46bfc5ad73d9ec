/** IR tensors <-> onnxruntime tensors (node and web share the `Tensor` shape of onnxruntime-common). */
import { MsgraphError } from '../../errors.js';
import { dtypeFromName } from '../../ir/dtype.js';
import { Tensor } from '../../ir/tensor.js';
import { fromTensor, toTensor } from '../../ir/array.js';

/** What msgraph needs of an onnxruntime tensor class. */
export interface OrtTensorLike {
  type: string;
  dims: readonly number[];
  data: unknown;
}
export type OrtTensorCtor = new (type: string, data: unknown, dims: readonly number[]) => OrtTensorLike;

const VIEWS: Record<string, new (b: ArrayBuffer) => ArrayBufferView> = {
  float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array, int16: Int16Array, int8: Int8Array,
  uint64: BigUint64Array, uint32: Uint32Array, uint16: Uint16Array, uint8: Uint8Array, bool: Uint8Array, float16: Uint16Array,
};

export function toOrtTensor(t: Tensor, Ctor: OrtTensorCtor): OrtTensorLike {
  const dims = [...t.dims];
  if (t.isString) return new Ctor('string', t.strings.map((s) => new TextDecoder().decode(s)), dims);
  const View = VIEWS[t.dtype.name];
  if (!View) throw new MsgraphError('dtype', `onnxruntime has no ${t.dtype.name} tensors`);
  return new Ctor(t.dtype.name, new View(t.bytes.slice().buffer), dims);
}

export function fromOrtTensor(o: OrtTensorLike, name: string): Tensor {
  const dtype = dtypeFromName(o.type === 'bool' ? 'bool' : o.type);
  if (!dtype) throw new MsgraphError('dtype', `output ${name} has onnxruntime type ${o.type}, which msgraph cannot read`);
  if (o.type === 'string') {
    return Tensor.fromStrings([...o.dims], (o.data as string[]).map((s) => new TextEncoder().encode(s)), dtype, name);
  }
  const d = o.data as ArrayBufferView;
  return Tensor.fromBytes(dtype, [...o.dims], new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice(), name);
}

/**
 * A float tensor in another float dtype (float32 inputs for a plan with float16 I/O, float16 outputs compared with
 * float32 ones); any other tensor as it is.
 */
export function asFloatDtype(t: Tensor, dtype: string): Tensor {
  const to = dtypeFromName(dtype);
  if (!to || to === t.dtype || to.kind !== 'float' || t.dtype.kind !== 'float') return t;
  return toTensor({ ...fromTensor(t), dtype: to }, t.name);
}
