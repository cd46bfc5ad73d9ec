/** File-system adapter (Node only): loading models with external data, and atomic saving. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MsgraphError } from '../../errors.js';
import type { Model } from '../../ir/model.js';
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
  const bytes = readModelFile(file);
  const p = parseModelProto(bytes, file);
  opts.beforeImport?.(p);
  return importModel(p, { file, external: fileExternalResolver(path.dirname(path.resolve(file)), file) });
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

/** Writes every file to a temporary name first; renames only when all are written; cleans up on failure. */
export function writeFilesAtomic(targets: [string, Uint8Array[]][]): void {
  const temps: string[] = [];
  try {
    for (const [target, chunks] of targets) {
      const tmp = `${target}.${process.pid}.${Date.now()}.tmp`;
      temps.push(tmp);
      const fd = fs.openSync(tmp, 'w');
      try {
        for (const c of chunks) {
          let off = 0;
          while (off < c.length) off += fs.writeSync(fd, c, off, c.length - off);
        }
      } finally {
        fs.closeSync(fd);
      }
    }
    targets.forEach(([target], i) => fs.renameSync(temps[i]!, target));
  } catch (e) {
    for (const t of temps) fs.rmSync(t, { force: true });
    if (e instanceof MsgraphError) throw e;
    throw new MsgraphError('io', `cannot write: ${(e as Error).message}`, { file: targets[0]?.[0] });
  }
}
