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
      return {
        length: len,
        load: () => {
          const buf = new Uint8Array(len);
          const fd = fs.openSync(real, 'r');
          try {
            let got = 0;
            while (got < len) {
              const n = fs.readSync(fd, buf, got, len - got, offset + got);
              if (n === 0) throw fail(`tensor ${t}: external data file ${loc} ended early`);
              got += n;
            }
          } finally {
            fs.closeSync(fd);
          }
          return buf;
        },
      };
    },
  };
}

export function readModelFile(file: string): Uint8Array {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new MsgraphError('io', 'no such file', { file });
  }
  if (!st.isFile()) throw new MsgraphError('io', 'not a regular file', { file });
  try {
    const b = fs.readFileSync(file);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    throw new MsgraphError('io', `cannot read: ${(e as Error).message}`, { file });
  }
}

/** Loads an .onnx file (and its external data, lazily) into the IR. */
export function loadModelFile(file: string, opts: { beforeImport?: (p: ModelP) => void } = {}): Model {
  return openModelFile(file, opts).model;
}

/** The file's bytes and the model read from them (external data resolved next to the file, read lazily). */
export function openModelFile(file: string, opts: { beforeImport?: (p: ModelP) => void } = {}): { bytes: Uint8Array; model: Model } {
  const bytes = readModelFile(file);
  return { bytes, model: modelFromFileBytes(bytes, file, opts) };
}

/** A model from bytes already read from `file` (a second, independent copy needs no second read). */
export function modelFromFileBytes(bytes: Uint8Array, file: string, opts: { beforeImport?: (p: ModelP) => void } = {}): Model {
  const p = parseModelProto(bytes, file);
  opts.beforeImport?.(p);
  return importModel(p, { file, external: fileExternalResolver(path.dirname(path.resolve(file)), file) });
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
  const targets: [string, Uint8Array[]][] = [[file, res.chunks]];
  if (res.externalChunks.length > 0) targets.push([path.join(path.dirname(file), location), res.externalChunks]);
  writeFilesAtomic(targets);
  return res;
}

/** Files written under temporary names, waiting to be renamed into place (`commit`) or removed (`abort`). */
export interface Staged {
  commit(): void;
  abort(): void;
}

/** Name of a temporary next to `target`: the owner's pid in it lets a later run tell a stale one from a live one. */
function tempFor(target: string): string {
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
 * Removes temporaries that a killed run (SIGKILL, power loss) left next to `target`: files and directories named
 * `<target>.msgraph-<pid>-<id>.tmp|old` whose process is gone. Live runs' temporaries are left alone.
 */
export function cleanStaleTemps(target: string): void {
  const dir = path.dirname(path.resolve(target));
  const base = path.basename(target);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const m = TEMP.exec(n);
    if (m && m[1] === base && !alive(Number(m[2]))) fs.rmSync(path.join(dir, n), { recursive: true, force: true });
  }
}

function writeChunks(file: string, chunks: Iterable<Uint8Array>): void {
  const fd = fs.openSync(file, 'wx');
  try {
    for (const c of chunks) {
      let off = 0;
      while (off < c.length) off += fs.writeSync(fd, c, off, c.length - off);
    }
  } finally {
    fs.closeSync(fd);
  }
}

function ioError(e: unknown, file: string | undefined): MsgraphError {
  return e instanceof MsgraphError ? e : new MsgraphError('io', `cannot write: ${(e as Error).message}`, { file });
}

/** Writes every file under a temporary name; nothing is visible at the targets until `commit`. */
export function stageFiles(targets: [string, Iterable<Uint8Array>][]): Staged {
  const temps: string[] = [];
  const abort = () => {
    for (const t of temps) fs.rmSync(t, { force: true });
  };
  try {
    for (const [target] of targets) cleanStaleTemps(target);
    for (const [target, chunks] of targets) {
      const tmp = tempFor(target);
      temps.push(tmp);
      writeChunks(tmp, chunks);
    }
  } catch (e) {
    abort();
    throw ioError(e, targets[0]?.[0]);
  }
  return {
    commit() {
      try {
        targets.forEach(([target], i) => fs.renameSync(temps[i]!, target));
      } catch (e) {
        abort();
        throw ioError(e, targets[0]?.[0]);
      }
    },
    abort,
  };
}

/** Writes every file to a temporary name first; renames only when all are written; cleans up on failure. */
export function writeFilesAtomic(targets: [string, Iterable<Uint8Array>][]): void {
  stageFiles(targets).commit();
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
export function stageDirectory(dir: string, files: [string, Iterable<Uint8Array>][], replaceable: ReadonlySet<string>): Staged {
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
    for (const [name, chunks] of files) writeChunks(path.join(tmp, name), chunks);
  } catch (e) {
    abort();
    throw ioError(e, dir);
  }
  return {
    commit() {
      try {
        for (let attempt = 0; ; attempt++) {
          // The previous package moves aside first; a concurrent run may get there between the two renames.
          const old = `${out}.msgraph-${process.pid}-old${attempt}.old`;
          let moved = false;
          try {
            fs.renameSync(out, old);
            moved = true;
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
          }
          try {
            fs.renameSync(tmp, out);
            if (moved) fs.rmSync(old, { recursive: true, force: true });
            return;
          } catch (e) {
            if (moved) fs.rmSync(old, { recursive: true, force: true });
            const code = (e as NodeJS.ErrnoException).code;
            if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || attempt > 20) throw e;
          }
        }
      } catch (e) {
        abort();
        throw ioError(e, dir);
      }
    },
    abort,
  };
}
