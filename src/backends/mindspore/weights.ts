/**
 * Weight files for the emitted package: safetensors (the default; MindSpore >= 2.4 loads it with
 * `load_checkpoint(..., format="safetensors")`) and MindSpore's own `.ckpt` protobuf (one `Checkpoint` message per
 * parameter, concatenated; `Checkpoint.value{tag=1, tensor=2{dims=1, tensor_type=2, tensor_content=3}}`).
 */
import { MsgraphError } from '../../errors.js';
import type { DType } from '../../ir/dtype.js';
import type { Chunk } from '../../ir/tensor.js';
import { Writer } from '../../frontend/onnx/protobuf.js';

export interface WeightEntry {
  /** Parameter path in the Cell (`down_blocks.0.resnets.0.conv1.weight`). */
  name: string;
  dtype: DType;
  dims: readonly number[];
  nbytes: number;
  /**
   * C-order little-endian bytes, read (or computed) when the file is written. With `reuse` (see ChunkOptions) a
   * computed weight may be a buffer the next call overwrites, and a weight still in the model file its source.
   */
  load(reuse?: boolean): Chunk;
}

/**
 * Chunks of weights written one at a time, each before the next is asked for (a file writer), may share one buffer
 * for the weights they compute, and stream weights from the model file: the garbage of one fresh buffer per weight
 * is what otherwise raises the peak memory of writing. A consumer that keeps the chunks (the page's zip) must not
 * ask for this; it gets every weight as an array of its own.
 */
export interface ChunkOptions {
  reuseBuffers?: boolean;
}

/**
 * A file's contents as chunks that are produced while the file is written: each weight is read, written and let
 * go before the next, so writing never holds more than one tensor. Iterable more than once (each pass reads again).
 */
export type Chunks = Iterable<Chunk>;

function chunks(make: () => Generator<Chunk>): Chunks {
  return { [Symbol.iterator]: make };
}

function loaded(e: WeightEntry, reuse: boolean): Chunk {
  const b = e.load(reuse);
  if (b.length !== e.nbytes) throw new MsgraphError('unsupported', `parameter ${e.name}: ${b.length} bytes, expected ${e.nbytes}`);
  return reuse || b instanceof Uint8Array ? b : b.load();
}

const SAFETENSORS_DTYPE: Record<string, string> = {
  float64: 'F64', float32: 'F32', float16: 'F16', bfloat16: 'BF16', int64: 'I64', int32: 'I32', int16: 'I16',
  int8: 'I8', uint8: 'U8', uint16: 'U16', uint32: 'U32', uint64: 'U64', bool: 'BOOL',
};

const CKPT_DTYPE: Record<string, string> = {
  float64: 'Float64', float32: 'Float32', float16: 'Float16', bfloat16: 'BFloat16', int64: 'Int64', int32: 'Int32',
  int16: 'Int16', int8: 'Int8', uint8: 'UInt8', uint16: 'UInt16', uint32: 'UInt32', uint64: 'UInt64', bool: 'Bool',
};

function unsupported(e: WeightEntry, format: string): never {
  throw new MsgraphError('unsupported', `parameter ${e.name}: dtype ${e.dtype.name} cannot be stored in ${format}`);
}

/** A safetensors file as chunks: 8-byte header length, JSON header (8-byte aligned), then the tensors in order. */
export function safetensorsChunks(entries: readonly WeightEntry[], metadata: Record<string, string> = {}, opts: ChunkOptions = {}): Chunks {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header['__metadata__'] = metadata;
  let offset = 0;
  for (const e of entries) {
    const dtype = SAFETENSORS_DTYPE[e.dtype.name] ?? unsupported(e, 'safetensors');
    header[e.name] = { dtype, shape: [...e.dims], data_offsets: [offset, offset + e.nbytes] };
    offset += e.nbytes;
  }
  let json = JSON.stringify(header);
  const pad = (8 - ((json.length + 8) % 8)) % 8;
  json += ' '.repeat(pad);
  const head = new TextEncoder().encode(json);
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(head.length), true);
  return chunks(function* () {
    yield len;
    yield head;
    for (const e of entries) yield loaded(e, !!opts.reuseBuffers);
  });
}

/** A MindSpore .ckpt file as chunks. Scalars are written with dims [0], as MindSpore does. */
export function ckptChunks(entries: readonly WeightEntry[], opts: ChunkOptions = {}): Chunks {
  // Refused dtypes fail now, before anything is written.
  for (const e of entries) if (!CKPT_DTYPE[e.dtype.name]) unsupported(e, 'a .ckpt checkpoint');
  return chunks(function* () {
    for (const e of entries) yield* ckptEntry(e, !!opts.reuseBuffers);
  });
}

function ckptEntry(e: WeightEntry, reuse: boolean): Chunk[] {
  const tensor = new Writer();
  const dims = e.dims.length === 0 ? [0] : e.dims;
  for (const d of dims) tensor.int64(1, d);
  tensor.string(2, CKPT_DTYPE[e.dtype.name] ?? unsupported(e, 'a .ckpt checkpoint'));
  tensor.bytes(3, loaded(e, reuse));
  const value = new Writer();
  value.string(1, e.name);
  value.message(2, tensor);
  const ckpt = new Writer();
  ckpt.message(1, value);
  return ckpt.finish();
}
