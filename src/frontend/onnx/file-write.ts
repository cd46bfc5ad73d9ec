/**
 * Writing a file from chunks (Node only). Tensor data still in the model file is copied from there in pieces, never
 * held whole; `writeChunksParallel` keeps several of those copies in flight on the thread pool at once. (Writes
 * into one file through the page cache take the file's lock one at a time on Linux, so what runs side by side is
 * one copy's read with another's write, and the main thread's work with both.)
 */
import * as fs from 'node:fs';
import type { Chunk } from '../../ir/tensor.js';

/** Copy piece size, and how many copies run at once (the size of Node's thread pool). */
const PIECE = 2 * 1024 * 1024;
const LANES = 4;
/**
 * The most bytes one write call hands the kernel. Linux (6.x) caches what a large write call brings in large folios,
 * and on a virtual machine whose host takes back the memory its guest frees, filling fresh large folios is several
 * times slower than filling small ones. Measured writing 330 MB after another process had freed its memory: 0.6 to
 * 0.85 s in calls of 4 MiB or 1 MiB, 0.06 to 0.08 s in calls of 512 KiB or 256 KiB (and no slower than large calls
 * when memory is at hand).
 */
export const WRITE = 512 * 1024;
/** In-memory chunks up to this size are gathered into one write; larger ones go through the writer's own buffers. */
const GATHER = WRITE;

function writeAllSync(fd: number, b: Uint8Array, at: number): void {
  let off = 0;
  while (off < b.length) off += fs.writeSync(fd, b, off, Math.min(WRITE, b.length - off), at + off);
}

/** Writes the chunks, in order, into a new file (refusing an existing one). */
export function writeChunks(file: string, chunks: Iterable<Chunk>): void {
  const fd = fs.openSync(file, 'wx');
  try {
    let at = 0;
    for (const c of chunks) {
      for (const p of c instanceof Uint8Array ? [c] : c.pieces()) {
        writeAllSync(fd, p, at);
        at += p.length;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

function io<T>(f: (cb: (e: NodeJS.ErrnoException | null, r: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => f((e, r) => (e ? reject(e) : resolve(r))));
}

async function readAll(fd: number, b: Uint8Array, n: number, at: number): Promise<void> {
  for (let got = 0; got < n; ) {
    const k = await io<number>((cb) => fs.read(fd, b, got, n - got, at + got, cb));
    if (k === 0) throw new Error('unexpected end of file');
    got += k;
  }
}

async function writeAll(fd: number, b: Uint8Array, at: number): Promise<void> {
  for (let off = 0; off < b.length; ) off += await io<number>((cb) => fs.write(fd, b, off, Math.min(WRITE, b.length - off), at + off, cb));
}

interface Copy {
  src: number;
  from: number;
  to: number;
  n: number;
}

/**
 * Writes the chunks into a new file as `writeChunks` does, faster: a chunk that is a range of a file is split into
 * pieces that several lanes copy at once (a read and a write each, off the main thread), while the main thread goes
 * on to the next chunks. A chunk in memory may be a buffer its producer reuses for the next one: a large one is
 * copied into a buffer of the writer's own and written from there while the next chunks are made, and small ones are
 * copied into a gathering buffer.
 */
export async function writeChunksParallel(file: string, chunks: Iterable<Chunk>): Promise<void> {
  const fd = fs.openSync(file, 'wx');
  try {
    await writeChunksAt(fd, chunks, 0);
  } finally {
    fs.closeSync(fd);
  }
}

/** `writeChunksParallel` into an open file, from byte `start` on. */
export async function writeChunksAt(fd: number, chunks: Iterable<Chunk>, start: number): Promise<void> {
  const sources = new Map<string, number>();
  const queue: Copy[] = [];
  let head = 0;
  let finished = false;
  let failure: { error: unknown } | null = null;
  let waiting: (() => void)[] = [];
  const wake = () => {
    const w = waiting;
    waiting = [];
    for (const f of w) f();
  };
  const fail = (error: unknown) => {
    failure ??= { error };
    wake();
  };
  const lane = async () => {
    const buf = new Uint8Array(PIECE);
    while (!failure) {
      const c = queue[head];
      if (!c) {
        if (finished) return;
        await new Promise<void>((r) => waiting.push(r));
        continue;
      }
      head++;
      await readAll(c.src, buf, c.n, c.from);
      await writeAll(fd, buf.subarray(0, c.n), c.to);
    }
  };
  const pending: Promise<void>[] = Array.from({ length: LANES }, () => lane().catch(fail));
  const copies = [0, 1].map(() => ({ buf: new Uint8Array(0), pending: Promise.resolve() }));
  let turn = 0;
  let gather = new Uint8Array(GATHER);
  let gathered = 0;
  let gatherAt = 0;
  const flush = () => {
    if (gathered === 0) return;
    pending.push(writeAll(fd, gather.subarray(0, gathered), gatherAt).catch(fail));
    gather = new Uint8Array(GATHER);
    gathered = 0;
  };
  try {
    let at = start;
    for (const c of chunks) {
      if (failure) break;
      if (c instanceof Uint8Array && c.length <= GATHER) {
        if (gathered > 0 && gathered + c.length > GATHER) flush();
        if (gathered === 0) gatherAt = at;
        gather.set(c, gathered);
        gathered += c.length;
      } else {
        flush();
        if (c instanceof Uint8Array) {
          // Copied into one of two buffers of the writer's own and written from there in pieces at once (the copies
          // into the page cache run on several threads) while the next chunks are made: the producer may reuse its
          // buffer for the next one (a transposed weight), and making that one is what the write overlaps.
          const slot = copies[turn]!;
          turn = 1 - turn;
          await slot.pending;
          if (slot.buf.length < c.length) slot.buf = new Uint8Array(c.length);
          const b = slot.buf.subarray(0, c.length);
          b.set(c);
          const parts: Promise<void>[] = [];
          for (let off = 0; off < b.length; off += PIECE) parts.push(writeAll(fd, b.subarray(off, off + PIECE), at + off));
          slot.pending = Promise.all(parts).then(() => undefined, fail);
        }
        else if (c.file) {
          let src = sources.get(c.file.path);
          if (src === undefined) sources.set(c.file.path, (src = c.file.open()));
          for (let off = 0; off < c.length; off += PIECE) queue.push({ src, from: c.file.offset + off, to: at + off, n: Math.min(PIECE, c.length - off) });
          wake();
        } else {
          let off = 0;
          for (const p of c.pieces()) {
            await writeAll(fd, p, at + off);
            off += p.length;
          }
        }
      }
      at += c.length;
    }
    flush();
  } catch (e) {
    fail(e);
  }
  finished = true;
  wake();
  await Promise.all([...pending, ...copies.map((s) => s.pending)]);
  for (const s of sources.values()) fs.closeSync(s);
  if (failure) throw (failure as { error: unknown }).error;
}
