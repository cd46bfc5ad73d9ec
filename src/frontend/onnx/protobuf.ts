/**
 * Minimal protobuf wire-format reader and writer. The reader returns sub-views of the input buffer for
 * length-delimited fields (zero copy); the writer keeps large byte fields as chunks so that encoding a model never
 * copies tensor data until the final concatenation (or not at all when the chunks are written to a file).
 */
import type { Chunk } from '../../ir/tensor.js';

export type { Chunk } from '../../ir/tensor.js';

export class WireError extends Error {}

/** Copies chunks into one array (sources are read piece by piece). */
export function concatChunks(chunks: readonly Chunk[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    for (const p of c instanceof Uint8Array ? [c] : c.pieces()) {
      out.set(p, off);
      off += p.length;
    }
  }
  return out;
}

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_SGROUP = 3;
export const WIRE_EGROUP = 4;
export const WIRE_I32 = 5;

const utf8 = new TextDecoder('utf-8', { fatal: false });
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

export class Reader {
  readonly buf: Uint8Array;
  pos: number;
  readonly end: number;
  private view: DataView | null = null;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** Reads a field key; returns [fieldNumber, wireType]. */
  tag(): [number, number] {
    const key = this.varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 0) throw new WireError(`invalid field number 0 at byte ${this.pos}`);
    return [field, wire];
  }

  /** Unsigned varint as a number; exact below 2^53, precision lost above (use varintBig there). */
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new WireError('varint longer than 10 bytes');
  }

  varintBig(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError('truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, result);
      shift += 7n;
    }
    throw new WireError('varint longer than 10 bytes');
  }

  /** int64 field: a number when exactly representable, else a bigint. */
  int64(): number | bigint {
    const start = this.pos;
    // Fast path: small non-negative values fit in 7 bytes.
    const v = this.varint();
    if (Number.isSafeInteger(v)) return v;
    this.pos = start;
    const big = BigInt.asIntN(64, this.varintBig());
    const n = Number(big);
    return Number.isSafeInteger(n) ? n : big;
  }

  /** int64 field that must be a safe integer (dims, sizes, versions). */
  int64Number(what: string): number {
    const v = this.int64();
    if (typeof v === 'bigint') throw new WireError(`${what} ${v} is out of range`);
    return v;
  }

  int32(): number {
    const start = this.pos;
    const v = this.varint();
    if (v < 2 ** 31) return v;
    this.pos = start;
    return Number(BigInt.asIntN(32, this.varintBig()));
  }

  bool(): boolean {
    return this.varint() !== 0;
  }

  private dv(): DataView {
    if (!this.view) this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    return this.view;
  }

  fixed32Float(): number {
    this.need(4);
    const v = this.dv().getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  fixed64Double(): number {
    this.need(8);
    const v = this.dv().getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Length-delimited payload as a view into the buffer. */
  bytes(): Uint8Array {
    const len = this.varint();
    this.need(len);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  string(): string {
    return utf8.decode(this.bytes());
  }

  /** A sub-reader over a length-delimited field. */
  sub(): Reader {
    const len = this.varint();
    this.need(len);
    const r = new Reader(this.buf, this.pos, this.pos + len);
    this.pos += len;
    return r;
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_I64:
        this.need(8);
        this.pos += 8;
        return;
      case WIRE_LEN: {
        const len = this.varint();
        this.need(len);
        this.pos += len;
        return;
      }
      case WIRE_I32:
        this.need(4);
        this.pos += 4;
        return;
      case WIRE_SGROUP:
        for (;;) {
          const [, w] = this.tag();
          if (w === WIRE_EGROUP) return;
          this.skip(w);
        }
      default:
        throw new WireError(`unknown wire type ${wire} at byte ${this.pos}`);
    }
  }

  /** Raw bytes of one field (key included) starting at `start`, for keeping unknown fields. */
  slice(start: number): Uint8Array {
    return this.buf.subarray(start, this.pos);
  }

  /** Repeated scalar field: handles both packed and unpacked encodings. */
  repeated<T>(wire: number, scalarWire: number, read: (r: Reader) => T, out: T[]): void {
    if (wire === WIRE_LEN && scalarWire !== WIRE_LEN) {
      const r = this.sub();
      while (!r.done) out.push(read(r));
    } else if (wire === scalarWire) {
      out.push(read(this));
    } else {
      throw new WireError(`wire type ${wire} does not fit a repeated field of wire type ${scalarWire}`);
    }
  }

  expect(wire: number, want: number, field: string): void {
    if (wire !== want) throw new WireError(`field ${field} has wire type ${wire}, expected ${want}`);
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.end) throw new WireError(`truncated: need ${n} bytes at byte ${this.pos}, message ends at ${this.end}`);
  }
}

export function isValidUtf8(b: Uint8Array): boolean {
  try {
    utf8Strict.decode(b);
    return true;
  } catch {
    return false;
  }
}

const utf8Enc = new TextEncoder();
/** Encoded strings, shared by all writers (bounded: cleared when full). Entries are never handed out to be changed. */
const encoded = new Map<string, Uint8Array>();

/**
 * Writer building a list of chunks. Small scalar writes go into a scratch buffer; `bytesField` with a large payload
 * appends the payload itself as a chunk; nested messages are other Writers whose chunks are spliced in.
 */
export class Writer {
  private readonly chunks: Chunk[] = [];
  // Small to start with: V8 keeps typed arrays of up to 64 bytes on its heap, and a model's encoding makes a Writer
  // for every node, value and dim (off-heap buffers for each were a tenth of a large model's compile time).
  private scratch = new Uint8Array(64);
  private used = 0;
  private total = 0;

  get length(): number {
    return this.total + this.used;
  }

  private ensure(n: number): void {
    if (this.used + n <= this.scratch.length) return;
    this.flush();
    if (n > this.scratch.length) this.scratch = new Uint8Array(Math.max(n, 64));
  }

  private flush(): void {
    if (this.used === 0) return;
    // A full scratch buffer is handed over as it is; a partly used one is copied out at its size and reused, so a
    // flush before every large payload (one per tensor) does not leave a mostly empty 64 KiB buffer behind each time
    // (vit_b_16: 105 MiB of them, a third of the model).
    if (this.used > this.scratch.length / 2) {
      this.chunks.push(this.scratch.subarray(0, this.used));
      this.scratch = new Uint8Array(this.scratch.length < 65536 ? this.scratch.length * 2 : 65536);
    } else this.chunks.push(this.scratch.slice(0, this.used));
    this.total += this.used;
    this.used = 0;
  }

  private pushChunk(b: Chunk): void {
    if (b instanceof Uint8Array && b.length <= 64) {
      this.ensure(b.length);
      this.scratch.set(b, this.used);
      this.used += b.length;
      return;
    }
    this.flush();
    this.chunks.push(b);
    this.total += b.length;
  }

  rawVarint(v: number): void {
    this.ensure(10);
    if (v < 0) throw new Error('rawVarint takes non-negative numbers; use int64()');
    while (v >= 0x80) {
      this.scratch[this.used++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.scratch[this.used++] = v;
  }

  /** A varint in at least `width` bytes (a longer encoding of a small number is valid protobuf). */
  paddedVarint(v: number, width: number): void {
    this.ensure(Math.max(width, 10));
    const start = this.used;
    this.rawVarint(v);
    while (this.used - start < width) {
      this.scratch[this.used - 1] = this.scratch[this.used - 1]! | 0x80;
      this.scratch[this.used++] = 0;
    }
  }

  private rawVarintBig(v: bigint): void {
    this.ensure(10);
    let u = BigInt.asUintN(64, v);
    while (u >= 0x80n) {
      this.scratch[this.used++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.scratch[this.used++] = Number(u);
  }

  tag(field: number, wire: number): void {
    this.rawVarint(field * 8 + wire);
  }

  /** Signed 64-bit varint (negative numbers take 10 bytes as protobuf requires). */
  rawInt64(v: number | bigint): void {
    if (typeof v === 'number') {
      if (v >= 0 && Number.isSafeInteger(v)) return this.rawVarint(v);
      if (!Number.isFinite(v)) throw new Error(`int64 value ${v} is not finite`);
      // Out-of-range doubles clamp to the int64 extremes (INT64_MAX/MIN sentinels round-trip exactly).
      const big = v >= 2 ** 63 ? 2n ** 63n - 1n : v <= -(2 ** 63) ? -(2n ** 63n) : BigInt(Math.trunc(v));
      return this.rawVarintBig(big);
    }
    this.rawVarintBig(v);
  }

  int64(field: number, v: number | bigint): void {
    this.tag(field, WIRE_VARINT);
    this.rawInt64(v);
  }

  int32(field: number, v: number): void {
    this.int64(field, v);
  }

  float(field: number, v: number): void {
    this.tag(field, WIRE_I32);
    this.ensure(4);
    new DataView(this.scratch.buffer, this.scratch.byteOffset).setFloat32(this.used, v, true);
    this.used += 4;
  }

  bytes(field: number, b: Chunk): void {
    this.tag(field, WIRE_LEN);
    this.rawVarint(b.length);
    this.pushChunk(b);
  }

  string(field: number, s: string): void {
    // A model's strings are mostly the same names and op types over and over: each is encoded once (TextEncoder's
    // cost per call is most of what a short string costs; vit_b_16 spent 16 ms of a 35 ms encode in it).
    let b = encoded.get(s);
    if (b === undefined) {
      b = utf8Enc.encode(s);
      if (encoded.size >= 65536) encoded.clear();
      encoded.set(s, b);
    }
    this.bytes(field, b);
  }

  message(field: number, m: Writer): void {
    this.tag(field, WIRE_LEN);
    this.rawVarint(m.length);
    if (m.chunks.length === 0 && m.used <= 512) {
      // A small message is copied in whole: splicing in its own chunk would leave a chunk per dim, value and node.
      this.ensure(m.used);
      this.scratch.set(m.scratch.subarray(0, m.used), this.used);
      this.used += m.used;
      return;
    }
    this.flush();
    m.flush();
    for (const c of m.chunks) this.chunks.push(c);
    this.total += m.total;
  }

  /** Copies previously captured raw field bytes (unknown or opaque fields). */
  raw(b: Uint8Array): void {
    this.pushChunk(b);
  }

  packedInt64(field: number, vs: readonly (number | bigint)[]): void {
    if (vs.length === 0) return;
    const inner = new Writer();
    for (const v of vs) inner.rawInt64(v);
    this.message(field, inner);
  }

  packedFloat(field: number, vs: readonly number[]): void {
    if (vs.length === 0) return;
    const b = new Uint8Array(vs.length * 4);
    const dv = new DataView(b.buffer);
    vs.forEach((v, i) => dv.setFloat32(i * 4, v, true));
    this.bytes(field, b);
  }

  /** The chunks, in order (for writing to a file without concatenation). */
  finish(): Chunk[] {
    this.flush();
    return this.chunks;
  }

  concat(): Uint8Array {
    return concatChunks(this.finish());
  }
}
