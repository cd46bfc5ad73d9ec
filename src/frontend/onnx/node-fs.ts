/** File-system adapter (Node only): loading models with external data, and atomic saving. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MsgraphError } from '../../errors.js';
import type { Model } from '../../ir/model.js';
import type { Graph } from '../../ir/graph.js';
import { encodeModelBytes, parseModelProto, type EncodeResult } from './index.js';
import { importModel } from './import.js';
import type { ModelP } from './proto.js';
import type { ExternalDataResolver } from './tensors.js';
import { fileRange, identityOf, readSparse, type SparseFile } from './file-read.js';
import type { Chunk } from './protobuf.js';
import { writeChunks, writeChunksParallel } from './file-write.js';

/**
 * Resolves external data relative to `dir`. Refuses absolute paths, `..` escapes and symlinks that leave the
 * directory; missing or short files are errors at load time, the bytes themselves are read on first use.
 */
export function fileExternalResolver(dir: string, file: string): ExternalDataResolver {
  let realDir: string | null = null;
  const fail = (msg: string, hint?: string) => new MsgraphError('external-data', msg, { file, hint });
  return {
    resolve(location, offset, length, tensor) {
      const t = JSON.stringify(tensor);
      const loc = JSON.stringify(location);
      if (location.includes('\0')) throw fail(`tensor ${t}: external data location contains a NUL byte`);
      if (path.isAbsolute(location) || path.win32.isAbsolute(location)) {
        throw fail(`tensor ${t}: external data location ${loc} is an absolute path; only paths inside the model's directory are allowed`);
      }
      const full = path.resolve(dir, location);
      const rel = path.relative(dir, full);
      if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel) || location.split(/[\\/]/).includes('..')) {
        throw fail(`tensor ${t}: external data location ${loc} escapes the model's directory`);
      }
      let st: fs.Stats;
      try {
        st = fs.statSync(full);
      } catch {
        throw fail(`tensor ${t}: external data file ${loc} is missing (looked in ${dir})`, 'copy the data file next to the model');
      }
      realDir ??= fs.realpathSync(dir);
      const real = fs.realpathSync(full);
      const realRel = path.relative(realDir, real);
      if (realRel.startsWith('..') || path.isAbsolute(realRel)) {
        throw fail(`tensor ${t}: external data file ${loc} is a link that leaves the model's directory`);
      }
      if (!st.isFile()) throw fail(`tensor ${t}: external data ${loc} is not a regular file`);
      const len = length ?? st.size - offset;
      if (offset + len > st.size || len < 0) {
        throw fail(`tensor ${t}: external data file ${loc} is too short (${st.size} bytes; needs ${offset + len})`);
      }
      return fileRange(real, offset, len, `external data of tensor ${t}`, identityOf(st));
    },
  };
}

function statModel(file: string): fs.Stats {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new MsgraphError('io', 'no such file', { file });
  }
  if (!st.isFile()) throw new MsgraphError('io', 'not a regular file', { file });
  return st;
}

export function readModelFile(file: string): Uint8Array {
  statModel(file);
  try {
    const b = fs.readFileSync(file);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    throw new MsgraphError('io', `cannot read: ${(e as Error).message}`, { file });
  }
}

/**
 * Loads an .onnx file into the IR. Tensors in the file of MIN_LAZY_BYTES and more, and every tensor in external
 * data, are read when first used; writers stream them from their file.
 */
export function loadModelFile(file: string, opts: { beforeImport?: (p: ModelP) => void } = {}): Model {
  statModel(file);
  let sparse: SparseFile;
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    sparse = readSparse(file, fd, fs.fstatSync(fd));
  } catch (e) {
    throw e instanceof MsgraphError ? e : new MsgraphError('io', `cannot read: ${(e as Error).message}`, { file });
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  return modelFrom(sparse.bytes, file, opts, sparse.holes);
}

/** The file's bytes and the model read from them (external data resolved next to the file, read lazily). */
export function openModelFile(file: string, opts: { beforeImport?: (p: ModelP) => void } = {}): { bytes: Uint8Array; model: Model } {
  const bytes = readModelFile(file);
  return { bytes, model: modelFromFileBytes(bytes, file, opts) };
}

/** A model from bytes already read from `file` (a second, independent copy needs no second read). */
export function modelFromFileBytes(bytes: Uint8Array, file: string, opts: { beforeImport?: (p: ModelP) => void } = {}): Model {
  return modelFrom(bytes, file, opts);
}

/** `holes`: raw_data payloads left on disk (see readSparse), by offset; their tensors read from the file. */
function modelFrom(bytes: Uint8Array, file: string, opts: { beforeImport?: (p: ModelP) => void }, holes?: SparseFile['holes']): Model {
  const p = parseModelProto(bytes, file);
  opts.beforeImport?.(p);
  const external = fileExternalResolver(path.dirname(path.resolve(file)), file);
  if (holes) {
    external.inFile = (view) => {
      const src = view.buffer === bytes.buffer ? holes.get(view.byteOffset) : undefined;
      return src && src.length === view.length ? src : undefined;
    };
  }
  return importModel(p, { file, external });
}

/** A model file for onnxruntime sessions: the path for onnxruntime-node, bytes and external data for onnxruntime-web. */
export function fileSource(file: string): { path: string; read(): { bytes: Uint8Array; externalData: { path: string; data: Uint8Array }[] }; model(): Model } {
  return {
    path: path.resolve(file),
    read() {
      const { bytes, model } = openModelFile(file);
      return { bytes, externalData: externalDataFiles(model, file) };
    },
    model: () => loadModelFile(file),
  };
}

/** Locations of the external data files a model's tensors (in any graph) are read from. */
export function externalLocations(model: Model): string[] {
  const out = new Set<string>();
  const visit = (g: Graph) => {
    for (const v of g.initializers) if (v.const?.source) out.add(v.const.source.location);
    for (const n of g) for (const sg of n.subgraphs()) visit(sg);
  };
  visit(model.graph);
  return [...out];
}

/**
 * The external data files of a model loaded from `file`, read whole, for runtimes that take them as bytes
 * (onnxruntime-web). Locations were checked when the model was loaded (inside its directory, present, long enough).
 */
export function externalDataFiles(model: Model, file: string): { path: string; data: Uint8Array }[] {
  const dir = path.dirname(path.resolve(file));
  return externalLocations(model).map((loc) => {
    const b = fs.readFileSync(path.resolve(dir, loc));
    return { path: loc, data: new Uint8Array(b.buffer, b.byteOffset, b.byteLength) };
  });
}

export interface SaveOptions {
  /** Store tensors of at least this many bytes in `<name>.data` next to the model. */
  externalData?: boolean;
  externalThreshold?: number;
}

/**
 * Writes the model atomically: into temporary files next to the target, renamed into place only when complete.
 * External data goes to `<basename>.data` when asked for, or automatically past protobuf's 2 GiB limit.
 */
export function saveModelFile(model: Model, file: string, opts: SaveOptions = {}): EncodeResult {
  const location = `${path.basename(file)}.data`;
  const res = encodeModelBytes(model, {
    autoLocation: location,
    externalData: opts.externalData ? { location, threshold: opts.externalThreshold ?? 1024 } : undefined,
  });
  const targets: [string, Chunk[]][] = [[file, res.chunks]];
  if (res.externalChunks.length > 0) targets.push([path.join(path.dirname(file), location), res.externalChunks]);
  writeFilesAtomic(targets);
  return res;
}

/** Files written under temporary names, waiting to be renamed into place (`commit`) or removed (`abort`). */
export interface Staged {
  commit(): void;
  abort(): void;
}

/**
 * A file already being written under a temporary name (write-ahead.ts): `finish` completes it; `abort` stops the
 * writing and removes it.
 */
export interface Prewritten {
  readonly tmp: string;
  finish(): Promise<void>;
  abort(): void;
}

/** Name of a temporary next to `target`: the owner's pid in it lets a later run tell a stale one from a live one. */
export function tempFor(target: string): string {
  return `${target}.msgraph-${process.pid}-${Math.random().toString(36).slice(2, 10)}.tmp`;
}

const TEMP = /^(.*)\.msgraph-(\d+)-[a-z0-9]+\.(tmp|old)$/;

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temporaries that a killed run (SIGKILL, power loss) left next to the targets: files and directories named
 * `<target>.msgraph-<pid>-<id>.tmp|old` whose process is gone. Live runs' temporaries are left alone. Each
 * directory is listed once (an output directory such as /tmp can hold thousands of entries).
 */
export function cleanStaleTemps(...targets: string[]): void {
  const byDir = new Map<string, Set<string>>();
  for (const t of targets) {
    const dir = path.dirname(path.resolve(t));
    let bases = byDir.get(dir);
    if (!bases) byDir.set(dir, (bases = new Set()));
    bases.add(path.basename(t));
  }
  for (const [dir, bases] of byDir) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      if (!n.includes('.msgraph-')) continue;
      const m = TEMP.exec(n);
      if (m && bases.has(m[1]!) && !alive(Number(m[2]))) fs.rmSync(path.join(dir, n), { recursive: true, force: true });
    }
  }
}

function ioError(e: unknown, file: string | undefined): MsgraphError {
  return e instanceof MsgraphError ? e : new MsgraphError('io', `cannot write: ${(e as Error).message}`, { file });
}

/**
 * Writes every file under a temporary name; nothing is visible at the targets until `commit`. Tensor data still in
 * the model file is copied from there with several copies in flight.
 */
export async function stageFiles(targets: [string, Iterable<Chunk> | Prewritten][]): Promise<Staged> {
  const temps: string[] = [];
  const pre = targets.map(([, c]) => c).filter((c): c is Prewritten => 'finish' in c);
  const abort = () => {
    for (const p of pre) p.abort();
    for (const t of temps) fs.rmSync(t, { force: true });
  };
  try {
    cleanStaleTemps(...targets.map(([t]) => t));
    for (const [target, chunks] of targets) {
      if ('finish' in chunks) {
        temps.push(chunks.tmp);
        await chunks.finish();
        continue;
      }
      const tmp = tempFor(target);
      temps.push(tmp);
      await writeChunksParallel(tmp, chunks);
    }
  } catch (e) {
    abort();
    throw ioError(e, targets[0]?.[0]);
  }
  return {
    commit() {
      try {
        targets.forEach(([target], i) => moveIntoPlace(temps[i]!, target, 'file'));
      } catch (e) {
        abort();
        throw ioError(e, targets[0]?.[0]);
      }
    },
    abort,
  };
}

/**
 * Renames `tmp` (a file or a directory) to `target`. An existing target of the same kind is moved aside first and
 * removed after: a directory cannot be renamed over, and ext4 writes out a file renamed over another before the
 * rename returns (0.15 to 0.2 s for a 330 MB model) while a rename onto a free name does not wait. The target is
 * never partial; for that instant it is absent. A concurrent run may put its own output there between the two
 * renames: the move is tried again (the last to commit wins). If the rename fails, the previous output goes back.
 */
function moveIntoPlace(tmp: string, target: string, kind: 'file' | 'directory'): void {
  for (let attempt = 0; ; attempt++) {
    const old = `${target}.msgraph-${process.pid}-${Math.random().toString(36).slice(2, 10)}.old`;
    let moved = false;
    try {
      if (fs.lstatSync(target).isDirectory() === (kind === 'directory')) {
        fs.renameSync(target, old);
        moved = true;
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    try {
      fs.renameSync(tmp, target);
      if (moved) fs.rmSync(old, { recursive: true, force: true });
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const again = (code === 'ENOTEMPTY' || code === 'EEXIST') && attempt < 20;
      if (moved) {
        if (again) fs.rmSync(old, { recursive: true, force: true });
        else fs.renameSync(old, target);
      }
      if (!again) throw e;
    }
  }
}

/** Writes every file to a temporary name first; renames only when all are written; cleans up on failure. */
export function writeFilesAtomic(targets: [string, Iterable<Chunk>][]): void {
  const temps: string[] = [];
  try {
    cleanStaleTemps(...targets.map(([t]) => t));
    for (const [target, chunks] of targets) {
      temps.push(tempFor(target));
      writeChunks(temps[temps.length - 1]!, chunks);
    }
    targets.forEach(([target], i) => moveIntoPlace(temps[i]!, target, 'file'));
  } catch (e) {
    for (const t of temps) fs.rmSync(t, { force: true });
    throw ioError(e, targets[0]?.[0]);
  }
}

/** Files an emitted package directory may hold: a directory with anything else is not replaced. */
export function isReplaceablePackageDir(dir: string, names: ReadonlySet<string>): boolean {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return false;
  }
  return entries.every((e) => names.has(e) || e === '__pycache__');
}

/**
 * Builds a directory of files under a temporary name beside `dir` and renames it into place on `commit`, so that the
 * directory appears whole or not at all, also when several runs write it at once (the last to commit wins). An
 * existing `dir` is replaced only when it holds nothing but files of the same kind (`replaceable`); anything else
 * is refused before a byte is written.
 */
export async function stageDirectory(dir: string, files: [string, Iterable<Chunk>][], replaceable: ReadonlySet<string>): Promise<Staged> {
  const out = path.resolve(dir);
  if (fs.existsSync(out)) {
    if (!fs.statSync(out).isDirectory()) throw new MsgraphError('usage', 'the output exists and is not a directory', { file: dir });
    if (!isReplaceablePackageDir(out, replaceable)) {
      throw new MsgraphError('usage', 'the output directory holds files that are not part of a package; refusing to replace it', { file: dir, hint: 'choose a new or empty directory' });
    }
  }
  cleanStaleTemps(out);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = tempFor(out);
  const abort = () => fs.rmSync(tmp, { recursive: true, force: true });
  try {
    fs.mkdirSync(tmp);
    for (const [name, chunks] of files) await writeChunksParallel(path.join(tmp, name), chunks);
  } catch (e) {
    abort();
    throw ioError(e, dir);
  }
  return {
    commit() {
      try {
        moveIntoPlace(tmp, out, 'directory');
      } catch (e) {
        abort();
        throw ioError(e, dir);
      }
    },
    abort,
  };
}
