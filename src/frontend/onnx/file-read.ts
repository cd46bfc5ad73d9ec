/**
 * Reading an .onnx file without reading its weights (Node only). The protobuf structure is walked with small
 * positional reads; the payloads of large tensors (`raw_data` of initializers and of Constant attributes, in
 * subgraphs too) are left on disk and read when something asks for them, or streamed straight into an output file.
 *
 * The file's bytes go into one buffer of the file's size at their own offsets, so the decoder reads it as if it were
 * the whole file; the pages of the payloads left out are never touched, so they take no memory.
 */
import * as fs from 'node:fs';
import { MsgraphError } from '../../errors.js';
import type { ByteSource } from '../../ir/tensor.js';

/** Payloads this large and larger stay on disk; smaller constants (shapes, scalars, small tables) are read now. */
export const MIN_LAZY_BYTES = 16 * 1024;
/** Reads extend to at least this many bytes, so that a walk over many small fields costs few system calls. */
const BLOCK = 16 * 1024;
/** Streaming piece size. */
const PIECE = 4 * 1024 * 1024;
const MAX_DEPTH = 64;

/** Message kinds the walk descends into, by field number, on the way to a tensor's raw_data. */
type Kind = 'model' | 'graph' | 'node' | 'attribute' | 'tensor';
const CHILDREN: Record<Kind, Record<number, Kind>> = {
  model: { 7: 'graph' },
  graph: { 1: 'node', 5: 'tensor' },
  node: { 5: 'attribute' },
  attribute: { 5: 'tensor', 6: 'graph', 10: 'tensor', 11: 'graph' },
  tensor: {},
};
const RAW_DATA = 9;

/** What identifies the file's contents at the time of the read; a later read checks that it still holds. */
interface Identity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

export function identityOf(st: fs.Stats): Identity {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
}

function sameFile(a: Identity, b: Identity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

function readFully(fd: number, into: Uint8Array, offset: number, length: number, at: number): void {
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, into, offset + got, length - got, at + got);
    if (n === 0) throw new Error('unexpected end of file');
    got += n;
  }
}

let spare: Uint8Array | null = null;

/**
 * A range of a file as a ByteSource. Every read reopens the file and checks that it is the one first read (same
 * inode, size and modification time): a model replaced or rewritten during a compile is an error, not wrong weights.
 */
export function fileRange(file: string, offset: number, length: number, what: string, identity?: Identity): ByteSource {
  const open = (): number => {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (e) {
      throw new MsgraphError('io', `cannot read ${what}: ${(e as Error).message}`, { file });
    }
    if (identity && !sameFile(identity, identityOf(fs.fstatSync(fd)))) {
      fs.closeSync(fd);
      throw new MsgraphError('io', `the file changed while it was being read (${what})`, { file, hint: 'do not rewrite a model while msgraph reads it' });
    }
    return fd;
  };
  const read = (fd: number, into: Uint8Array, n: number, at: number) => {
    try {
      readFully(fd, into, 0, n, at);
    } catch (e) {
      throw new MsgraphError('io', `cannot read ${what}: ${(e as Error).message}`, { file });
    }
  };
  return {
    length,
    file: { path: file, offset, open },
    load() {
      const out = new Uint8Array(length);
      this.readInto!(out);
      return out;
    },
    readInto(dst: Uint8Array) {
      const fd = open();
      try {
        read(fd, dst, length, offset);
      } finally {
        fs.closeSync(fd);
      }
    },
    *pieces() {
      if (length === 0) return;
      // One buffer serves every stream in turn; a stream started while another holds it gets its own.
      const buf = spare && spare.length >= Math.min(length, PIECE) ? spare : new Uint8Array(Math.min(length, PIECE));
      if (buf === spare) spare = null;
      const fd = open();
      try {
        for (let at = 0; at < length; at += buf.length) {
          const n = Math.min(buf.length, length - at);
          read(fd, buf, n, offset + at);
          yield buf.subarray(0, n);
        }
      } finally {
        fs.closeSync(fd);
        if (buf.length === PIECE) spare = buf;
      }
    },
  };
}

/** The file's structure and small fields in a buffer of the file's size; large payloads by offset, still on disk. */
export interface SparseFile {
  bytes: Uint8Array;
  /** raw_data payloads left on disk, by their offset in the file (and in `bytes`, where they read as zeros). */
  holes: Map<number, ByteSource>;
}

/** Which bytes of the buffer have been read: one contiguous run, extended as the walk moves forward. */
class Filler {
  private from = 0;
  private to = 0;
  constructor(private readonly fd: number, readonly buf: Uint8Array) {}

  ensure(pos: number, n: number): void {
    const end = Math.min(this.buf.length, pos + n);
    if (end <= pos || (pos >= this.from && end <= this.to)) return;
    const start = pos >= this.from && pos <= this.to ? this.to : pos;
    const stop = Math.min(this.buf.length, Math.max(end, start + BLOCK));
    readFully(this.fd, this.buf, start, stop - start, start);
    if (start !== this.to) this.from = start;
    this.to = stop;
  }
}

class Malformed extends Error {}

/**
 * Reads `file` leaving the payloads of large tensors on disk. A file whose structure the walk does not understand
 * (truncated, not protobuf) is read whole, so that the decoder reports what is wrong with it.
 */
export function readSparse(file: string, fd: number, st: fs.Stats): SparseFile {
  const bytes = new Uint8Array(st.size);
  const holes = new Map<number, ByteSource>();
  const identity = identityOf(st);
  const f = new Filler(fd, bytes);
  // The walk's position: varint() reads at it and moves it on (no [value, position] pair per field).
  let pos = 0;
  const varint = (end: number): number => {
    f.ensure(pos, 10);
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10 && pos < end; i++) {
      const b = bytes[pos++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
    throw new Malformed();
  };
  const walk = (kind: Kind, start: number, end: number, depth: number): void => {
    if (depth > MAX_DEPTH) throw new Malformed();
    pos = start;
    while (pos < end) {
      const key = varint(end);
      const field = Math.floor(key / 8);
      switch (key % 8) {
        case 0: varint(end); break;
        case 1: pos += 8; break;
        case 5: pos += 4; break;
        case 2: {
          const len = varint(end);
          const at = pos;
          if (at + len > end) throw new Malformed();
          const child = CHILDREN[kind][field];
          if (child) walk(child, at, at + len, depth + 1);
          else if (kind === 'tensor' && field === RAW_DATA && len >= MIN_LAZY_BYTES) {
            holes.set(at, fileRange(file, at, len, `tensor data at byte ${at}`, identity));
          } else f.ensure(at, len);
          pos = at + len;
          break;
        }
        default: throw new Malformed();
      }
      if (pos > end) throw new Malformed();
    }
  };
  try {
    walk('model', 0, st.size, 0);
  } catch (e) {
    if (!(e instanceof Malformed)) throw e;
    holes.clear();
    readFully(fd, bytes, 0, st.size, 0);
  }
  return { bytes, holes };
}
