import { byteLength, type DType } from './dtype.js';

/** Where a tensor's bytes live when they are not in memory yet (external data), for reporting. */
export interface TensorSource {
  location: string;
  offset: number;
  length: number;
}

/**
 * Bytes read only when needed: whole (`load`), or in pieces for streaming them to a file (`pieces`; a piece may be a
 * reused buffer, valid only until the next one is taken).
 */
export interface ByteSource {
  readonly length: number;
  load(): Uint8Array;
  pieces(): Iterable<Uint8Array>;
  /** Reads the bytes into `dst` (of `length` bytes) without an intermediate buffer. */
  readInto?(dst: Uint8Array): void;
  /** Set when the bytes are a range of a file: a writer may copy them itself (`open` gives a checked descriptor). */
  readonly file?: FileRange;
}

export interface FileRange {
  path: string;
  offset: number;
  /** A descriptor for reading the file, refused when the file is no longer the one read first. */
  open(): number;
}

/** A piece of a file being written: bytes in memory, or tensor data still at its source (streamed when written). */
export type Chunk = Uint8Array | ByteSource;

/**
 * A constant tensor. Numeric data is held as raw little-endian bytes (sub-byte types packed, low nibble first),
 * a view into the model file's buffer for small tensors; large ones (in the file or in external data) are read on
 * first access, and writers stream them from their source without holding them.
 * String tensors hold one byte string per element.
 */
export class Tensor {
  readonly dtype: DType;
  readonly dims: readonly number[];
  name: string;
  docString = '';
  metadata = new Map<string, string>();
  /** Set when the bytes come from an external file; kept for inspection, not for writing. */
  readonly source: TensorSource | null;
  private raw: Uint8Array | null;
  private loader: ByteSource | null;
  private readonly stringData: Uint8Array[] | null;

  private constructor(
    dtype: DType,
    dims: readonly number[],
    name: string,
    raw: Uint8Array | null,
    loader: ByteSource | null,
    strings: Uint8Array[] | null,
    source: TensorSource | null,
  ) {
    this.dtype = dtype;
    this.dims = dims;
    this.name = name;
    this.raw = raw;
    this.loader = loader;
    this.stringData = strings;
    this.source = source;
  }

  static fromBytes(dtype: DType, dims: readonly number[], bytes: Uint8Array, name = ''): Tensor {
    return new Tensor(dtype, dims, name, bytes, null, null, null);
  }

  /** Bytes read from `from` on first access; `source` names the external file they are in (null: the model file). */
  static lazy(dtype: DType, dims: readonly number[], from: ByteSource, source: TensorSource | null, name = ''): Tensor {
    if (from.length !== byteLength(dtype, dims.reduce((a, b) => a * b, 1))) throw new Error(`Tensor.lazy: ${from.length} bytes for ${dtype.name}[${dims.join(',')}]`);
    return new Tensor(dtype, dims, name, null, from, null, source);
  }

  static fromStrings(dims: readonly number[], strings: Uint8Array[], dtype: DType, name = ''): Tensor {
    return new Tensor(dtype, dims, name, null, null, strings, null);
  }

  /** Copies a typed array's bytes (little-endian hosts only, which is every host Node runs on). */
  static fromArray(
    dtype: DType,
    dims: readonly number[],
    data: ArrayBufferView,
    name = '',
  ): Tensor {
    const bytes = new Uint8Array(data.byteLength);
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return Tensor.fromBytes(dtype, dims, bytes, name);
  }

  get size(): number {
    let n = 1;
    for (const d of this.dims) n *= d;
    return n;
  }

  /** Bytes the data occupies in raw form. */
  get nbytes(): number {
    if (this.stringData) return this.stringData.reduce((s, b) => s + b.length, 0);
    return byteLength(this.dtype, this.size);
  }

  get isString(): boolean {
    return this.stringData !== null;
  }

  get isLoaded(): boolean {
    return this.raw !== null || this.stringData !== null;
  }

  /** Raw little-endian bytes; loads external data on first call. */
  get bytes(): Uint8Array {
    if (this.stringData) throw new Error('string tensors have no raw bytes');
    if (this.raw === null) {
      this.raw = this.loader!.load();
      this.loader = null;
    }
    return this.raw;
  }

  /**
   * The bytes without keeping them: external data is read again on every call and not held by the tensor, so that a
   * writer can stream a model's weights one tensor at a time.
   */
  read(): Uint8Array {
    if (this.stringData) throw new Error('string tensors have no raw bytes');
    return this.raw ?? this.loader!.load();
  }

  /** Copies the bytes into `dst` (exactly `nbytes` long), straight from the source when they are not in memory. */
  readInto(dst: Uint8Array): void {
    if (dst.length !== this.nbytes) throw new Error(`readInto: ${dst.length} bytes for ${this.nbytes}`);
    if (this.loader?.readInto && !this.raw) return this.loader.readInto(dst);
    let off = 0;
    for (const p of this.pieces()) {
      dst.set(p, off);
      off += p.length;
    }
  }

  /** The bytes in pieces, read from the source when they are not in memory (see ByteSource.pieces). */
  pieces(): Iterable<Uint8Array> {
    if (this.stringData) throw new Error('string tensors have no raw bytes');
    return this.raw ? [this.raw] : this.loader!.pieces();
  }

  /** The bytes for a writer: the array when they are in memory, a source that streams them otherwise. */
  payload(): Chunk {
    if (this.stringData) throw new Error('string tensors have no raw bytes');
    return this.raw ?? this.loader!;
  }

  get strings(): readonly Uint8Array[] {
    if (!this.stringData) throw new Error(`tensor of ${this.dtype.name} holds no strings`);
    return this.stringData;
  }

  /** Replaces the data (e.g. after folding); detaches from the file buffer. */
  setBytes(bytes: Uint8Array): void {
    if (bytes.length !== byteLength(this.dtype, this.size)) {
      throw new Error(`setBytes: expected ${byteLength(this.dtype, this.size)} bytes, got ${bytes.length}`);
    }
    this.raw = bytes;
    this.loader = null;
  }

  /** A typed-array view of the data where one exists for the dtype (copied if unaligned). */
  toArray(): Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array {
    const ctor = TYPED[this.dtype.name];
    if (!ctor) throw new Error(`no typed array for ${this.dtype.name}`);
    let b = this.bytes;
    if (b.byteOffset % ctor.BYTES_PER_ELEMENT !== 0) b = b.slice();
    const n = b.byteLength / ctor.BYTES_PER_ELEMENT;
    return new ctor(b.buffer, b.byteOffset, n);
  }
}

type TypedCtor = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): ReturnType<Tensor['toArray']>;
  BYTES_PER_ELEMENT: number;
};

const TYPED: Partial<Record<string, TypedCtor>> = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  complex64: Float32Array,
  complex128: Float64Array,
} as Partial<Record<string, TypedCtor>>;
