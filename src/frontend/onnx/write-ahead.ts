/**
 * Writing a model's weights into the output while the model is still being compiled (Node only).
 *
 * The weights that stay on disk after decoding (file-read.ts) are what most of an output's bytes are, and they
 * usually come out of the compile as they went in. `startWriteAhead` bets on that: it encodes them at the start of
 * the graph-first layout (`GraphFirst` in encode.ts: the graph field first, these initializers first in it), whose
 * offsets do not depend on anything the passes do, and a worker thread copies them from the model file into the
 * output's temporary file while the main thread compiles. When the model is encoded, `finish` keeps the longest
 * run of written bytes the final encoding starts with and writes the rest from there on: a weight the passes changed,
 * renamed or dropped ends the run, and everything after it is written again. The result is the final encoding, byte
 * for byte, whichever way the bet went.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { Model } from '../../ir/model.js';
import type { ByteSource, Chunk, FileRange, Tensor } from '../../ir/tensor.js';
import { leadingInitializerChunks } from './export.js';
import { WRITE, writeChunksAt } from './file-write.js';
import { PROTOBUF_LIMIT, type EncodeResult } from './index.js';
import type { Prewritten } from './node-fs.js';

/** Below this many bytes of weights on disk, writing ahead is not worth a thread. */
export const WRITE_AHEAD_MIN_BYTES = 32 * 1024 * 1024;

/** Copy piece size of the worker. */
const PIECE = 2 * 1024 * 1024;

export interface WriteAhead {
  /** The initializers' tensors being written, in order: pass as `leading` to encodeModelBytes, with `lengthWidth`. */
  readonly leading: readonly Tensor[];
  readonly lengthWidth: number;
  /** The file as a staged target: finished with the final encoding (encoded with `leading` and `lengthWidth`). */
  target(enc: Pick<EncodeResult, 'chunks' | 'head'>): Prewritten;
  abort(): void;
  /** After `finish`: how many of the bytes written ahead were kept. */
  readonly kept: number;
  readonly written: number;
}

interface Segment {
  at: number;
  bytes?: Uint8Array;
  fd?: number;
  from?: number;
  n: number;
}

/** The worker: copies the segments in order until told to stop, or to stop at an offset. */
const WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { out, ctl, segments, piece, most } = workerData;
const c = new Int32Array(ctl);
let buf = null;
const put = (b, n, at) => { for (let k = 0; k < n; ) k += fs.writeSync(out, b, k, Math.min(most, n - k), at + k); };
try {
  for (const s of segments) {
    if (Atomics.load(c, 1) !== 0 || s.at >= Atomics.load(c, 0)) break;
    if (s.bytes) { put(s.bytes, s.bytes.length, s.at); continue; }
    buf ??= Buffer.allocUnsafe(piece);
    for (let off = 0; off < s.n && Atomics.load(c, 1) === 0; off += piece) {
      const n = Math.min(piece, s.n - off);
      for (let got = 0; got < n; ) {
        const k = fs.readSync(s.fd, buf, got, n - got, s.from + off + got);
        if (k === 0) throw new Error('the model file ended early');
        got += k;
      }
      put(buf, n, s.at + off);
    }
  }
  parentPort.postMessage({ ok: true });
} catch (e) {
  parentPort.postMessage({ error: String(e && e.message), code: e && e.code });
}
`;

const varintWidth = (v: number) => {
  let w = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    w++;
  }
  return w;
};

const isFileSource = (c: Chunk): c is ByteSource & { file: NonNullable<ByteSource['file']> } => !(c instanceof Uint8Array) && !!c.file;

/**
 * Starts writing `model`'s weights that are still in its file into `tmp` (created here; it must not exist), or
 * returns null when there are fewer than `minBytes` of them.
 */
export function startWriteAhead(model: Model, tmp: string, minBytes = WRITE_AHEAD_MIN_BYTES): WriteAhead | null {
  const leading: Tensor[] = [];
  const seen = new Set<Tensor>();
  const ranges = new Map<string, FileRange>();
  let bytes = 0;
  let other = 0;
  for (const v of model.graph.initializers) {
    const t = v.const;
    if (!t || t.isString || seen.has(t)) continue;
    seen.add(t);
    const p = t.payload();
    if (isFileSource(p)) {
      leading.push(t);
      bytes += p.length;
      if (!ranges.has(p.file.path)) ranges.set(p.file.path, p.file);
    } else other += p.length;
  }
  // A model past protobuf's limit is written with external data, in another layout: nothing to write ahead.
  if (leading.length === 0 || bytes < minBytes || bytes + other >= PROTOBUF_LIMIT) return null;
  const spec = leadingInitializerChunks(model, leading);
  const specBytes = spec.reduce((s, c) => s + c.length, 0);
  // The graph's length goes before the weights: its width is guessed from everything else the graph holds now, and
  // a final length that needs more bytes means writing everything again (a shorter one is padded).
  const lengthWidth = varintWidth(specBytes + other + model.graph.nodeCount * 256 + (1 << 20));
  const base = 1 + lengthWidth;

  const segments: Segment[] = [];
  const fds = new Map<string, number>();
  let out = -1;
  const closeAll = () => {
    for (const fd of fds.values()) fs.closeSync(fd);
    fds.clear();
    if (out >= 0) fs.closeSync(out);
    out = -1;
  };
  try {
    let at = base;
    let run: Uint8Array[] = [];
    let runAt = at;
    const endRun = () => {
      if (run.length === 0) return;
      const b = new Uint8Array(run.reduce((s, x) => s + x.length, 0));
      let o = 0;
      for (const x of run) {
        b.set(x, o);
        o += x.length;
      }
      segments.push({ at: runAt, bytes: b, n: b.length });
      run = [];
    };
    for (const c of spec) {
      if (isFileSource(c)) {
        endRun();
        let fd = fds.get(c.file.path);
        if (fd === undefined) fds.set(c.file.path, (fd = c.file.open()));
        segments.push({ at, fd, from: c.file.offset, n: c.length });
      } else {
        if (run.length === 0) runAt = at;
        run.push(c instanceof Uint8Array ? c : c.load());
      }
      at += c.length;
    }
    endRun();
    removeAfterExit(tmp); // before the file exists: there is no moment when it exists and nothing would remove it
    out = fs.openSync(tmp, 'wx');
  } catch (e) {
    closeAll();
    throw e;
  }

  const ctl = new Int32Array(new SharedArrayBuffer(8));
  ctl[0] = 2 ** 31 - 1; // where to stop: nowhere yet
  const worker = new Worker(WORKER, { eval: true, workerData: { out, ctl: ctl.buffer, segments, piece: PIECE, most: WRITE } });
  let exited = false;
  const done = new Promise<{ ok?: boolean; error?: string; code?: string }>((resolve) => {
    worker.once('message', resolve);
    worker.once('error', (e: Error) => resolve({ error: e.message }));
    worker.once('exit', () => {
      exited = true;
      resolve({ error: 'the writing thread stopped' });
    });
  });
  let settled = false;
  const state = { kept: 0, written: specBytes };

  const abort = () => {
    if (settled) return;
    settled = true;
    Atomics.store(ctl, 1, 1);
    fs.rmSync(tmp, { force: true });
    // The worker may be in the middle of a copy: its descriptors are closed once it has stopped, not before (a
    // number closed under it could be reused by another file).
    if (exited) closeAll();
    else worker.once('exit', closeAll);
  };

  const finish = async (enc: Pick<EncodeResult, 'chunks' | 'head'>): Promise<void> => {
    if (settled) throw new Error('the output being written ahead was already finished or abandoned');
    settled = true;
    try {
      const sameHead = enc.head === base;
      const body = sameHead ? enc.chunks.slice(1) : enc.chunks;
      const keep = sameHead ? commonPrefix(spec, body) : 0;
      if (sameHead) Atomics.store(ctl, 0, base + keep);
      else Atomics.store(ctl, 1, 1);
      const r = await done;
      if (r.error !== undefined) throw Object.assign(new Error(r.error), { code: r.code });
      // The model files were checked when the copies started; a file rewritten since is an error, as it is for a
      // read made now (open() checks inode, size and modification time).
      for (const f of ranges.values()) fs.closeSync(f.open());
      await writeChunksAt(out, sameHead ? dropBytes(body, keep) : enc.chunks, sameHead ? base + keep : 0);
      if (sameHead) {
        const head = enc.chunks[0] as Uint8Array;
        for (let k = 0; k < head.length; ) k += fs.writeSync(out, head, k, head.length - k, k);
      }
      fs.ftruncateSync(out, enc.chunks.reduce((s, c) => s + c.length, 0));
      state.kept = keep;
    } finally {
      if (exited) closeAll();
      else worker.once('exit', closeAll);
    }
  };

  return {
    leading,
    lengthWidth,
    target: (enc) => ({ tmp, finish: () => finish(enc), abort }),
    abort,
    get kept() {
      return state.kept;
    },
    get written() {
      return state.written;
    },
  };
}

/**
 * Ctrl-C while the passes run ends the process at once, as the CLI wants (no handler could run before the passes are
 * done), and the file being written ahead would stay. A shell that outlives this process removes it: the shell waits
 * for its input, a pipe whose other end this process holds, to close, which happens however this process ends, and
 * then removes the file if it is still under its temporary name (a finished output has been renamed away by then).
 * The shell has a process group of its own, so that the terminal's Ctrl-C does not reach it. Where there is no
 * /bin/sh, the next run writing the same output removes the file (cleanStaleTemps).
 */
function removeAfterExit(file: string): void {
  if (process.platform === 'win32' || !fs.existsSync('/bin/sh')) return;
  try {
    const sh = spawn('/bin/sh', ['-c', 'trap "" INT TERM HUP; cat >/dev/null; rm -f -- "$1"', 'sh', file], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    sh.on('error', () => undefined);
    sh.unref();
    (sh.stdin as { unref?: () => void } | null)?.unref?.();
  } catch {
    // The next run cleans up.
  }
}

/** Whether two chunks hold the same bytes: the same range of the same file, or (one in memory) the same content. */
function sameChunk(a: Chunk, b: Chunk): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  if (!(a instanceof Uint8Array) && !(b instanceof Uint8Array)) {
    return !!a.file && !!b.file && a.file.path === b.file.path && a.file.offset === b.file.offset;
  }
  const mem = (a instanceof Uint8Array ? a : b) as Uint8Array;
  const src = (a instanceof Uint8Array ? b : a) as ByteSource;
  let o = 0;
  for (const p of src.pieces()) {
    if (!equalBytes(p, 0, mem, o, p.length)) return false;
    o += p.length;
  }
  return true;
}

function equalBytes(a: Uint8Array, ai: number, b: Uint8Array, bi: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (a[ai + k] !== b[bi + k]) return false;
  return true;
}

/**
 * How many bytes `b` starts with that `a` starts with too. A chunk that is not in memory is compared whole (it
 * matches or the prefix ends before it), so the prefix never ends inside one.
 */
export function commonPrefix(a: readonly Chunk[], b: readonly Chunk[]): number {
  let i = 0;
  let j = 0;
  let ai = 0;
  let bj = 0;
  let n = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (ai === x.length) {
      i++;
      ai = 0;
      continue;
    }
    if (bj === y.length) {
      j++;
      bj = 0;
      continue;
    }
    if (!(x instanceof Uint8Array) || !(y instanceof Uint8Array)) {
      if (ai !== 0 || bj !== 0 || !sameChunk(x, y)) return n;
      n += x.length;
      ai = x.length;
      bj = y.length;
      continue;
    }
    const k = Math.min(x.length - ai, y.length - bj);
    for (let m = 0; m < k; m++) if (x[ai + m] !== y[bj + m]) return n + m;
    n += k;
    ai += k;
    bj += k;
  }
  return n;
}

/** The chunks without their first `n` bytes (`n` never ends inside a chunk that is not in memory). */
export function dropBytes(chunks: readonly Chunk[], n: number): Chunk[] {
  const out: Chunk[] = [];
  for (const c of chunks) {
    if (n >= c.length) {
      n -= c.length;
      continue;
    }
    if (n > 0) {
      if (!(c instanceof Uint8Array)) throw new Error('dropBytes: the cut falls inside tensor data on disk');
      out.push(c.subarray(n));
      n = 0;
    } else out.push(c);
  }
  return out;
}
