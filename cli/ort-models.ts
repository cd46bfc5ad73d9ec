/** The models and inputs `compile --target onnx`, `run`, `verify` and `bench` work on, and their shared flags. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MsgraphError } from '../src/errors.js';
import type { Model } from '../src/ir/model.js';
import type { Tensor } from '../src/ir/tensor.js';
import { parseBundle } from '../src/ir/bundle.js';
import { externalLocations, fileSource, modelFromFileBytes, openModelFile, writeFilesAtomic } from '../src/frontend/onnx/node-fs.js';
import { concatChunks, encodeModelBytes, type EncodeResult } from '../src/frontend/onnx/index.js';
import { compileForOrt, parseShapeSpec, type Fp16Mode, type OrtCompileOptions } from '../src/backends/ort/compile.js';
import { checkEp, epUnavailable, type Ep, type ModelSource } from '../src/backends/ort/session.js';
import { checkFeeds, randomInputs } from '../src/backends/ort/inputs.js';
import { checkPrecision } from '../src/backends/ort/quantize.js';
import { DEFAULT_MIN_COSINE } from '../src/backends/ort/accuracy.js';
import type { Progress } from './progress.js';

export interface OrtFlags {
  ep?: string;
  shape?: string[];
  passes?: string;
  json?: boolean;
  seed?: string;
  precision?: string;
  keepFp32?: string[];
  minCosine?: string;
  fp16?: string;
  ioDtype?: string;
}

/** The precision options of compileForOrt from the flags. */
export function precisionOf(flags: OrtFlags): Pick<OrtCompileOptions, 'precision' | 'keepFp32' | 'fp16' | 'ioDtype'> {
  const precision = checkPrecision(flags.precision ?? 'fp32');
  if (flags.fp16 && precision !== 'fp16') throw new MsgraphError('usage', '--fp16 goes with --precision fp16');
  if (flags.fp16 && flags.fp16 !== 'storage' && flags.fp16 !== 'compute') throw new MsgraphError('usage', `--fp16 ${JSON.stringify(flags.fp16)}: storage or compute`);
  if (flags.ioDtype && flags.ioDtype !== 'fp32' && flags.ioDtype !== 'fp16') throw new MsgraphError('usage', `--io-dtype ${JSON.stringify(flags.ioDtype)}: fp32 or fp16`);
  return { precision, keepFp32: flags.keepFp32, fp16: flags.fp16 as Fp16Mode | undefined, ioDtype: (flags.ioDtype ?? 'fp32') as 'fp32' | 'fp16' };
}

export function minCosineOf(flags: OrtFlags): number {
  const m = Number(flags.minCosine ?? DEFAULT_MIN_COSINE);
  if (!(m >= -1 && m <= 1)) throw new MsgraphError('usage', `--min-cosine must be a number in [-1, 1], got ${JSON.stringify(flags.minCosine)}`);
  return m;
}

/** Where a compiled model past protobuf's 2 GiB limit keeps its tensors when it only goes to onnxruntime. */
export const AUTO_LOCATION = 'model.onnx.data';

/**
 * An encoded model for onnxruntime: its bytes, or, when it has external data, a temporary directory holding it with
 * its data file (removed by `cleanup`).
 */
export function sessionSource(enc: EncodeResult, location = AUTO_LOCATION): { source: ModelSource; bytes: number; cleanup: () => void } {
  const size = [...enc.chunks, ...enc.externalChunks].reduce((s, c) => s + c.length, 0);
  if (!enc.externalChunks.length) return { source: concatChunks(enc.chunks), bytes: size, cleanup: () => {} };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-run-'));
  try {
    writeFilesAtomic([[path.join(dir, 'model.onnx'), enc.chunks], [path.join(dir, location), enc.externalChunks]]);
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return { source: fileSource(path.join(dir, 'model.onnx')), bytes: size, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function shapesFrom(specs: string[] | undefined): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const s of specs ?? []) {
    const [name, dims] = parseShapeSpec(s);
    out[name] = dims;
  }
  return out;
}

export interface Prepared {
  original: ModelSource;
  compiled: ModelSource;
  /** The original model (inputs, dtypes, shapes). */
  model: Model;
  feeds: Map<string, Tensor>;
  /** Removes temporary files (a compiled model past 2 GiB is written to a temporary directory). */
  cleanup(): void;
}

/**
 * The original and compiled model for run/verify/bench, and the inputs. A model whose tensors live in external
 * data files is run from its path, so onnxruntime finds them. Inputs are made (and their size checked) before
 * compiling. An existing compiled file (one with its .plan.json) is run as it is.
 */
export function prepare(file: string, flags: OrtFlags & { inputs?: string }, progress: Progress, compiledFile?: string): Prepared {
  if (flags.keepFp32?.includes('auto')) throw new MsgraphError('usage', '--keep-fp32 auto is for compile, which records the layers it kept in the plan; give them to run, verify and bench by name');
  progress.set('decoding');
  const { bytes, model } = openModelFile(file);
  const sourceOf = (f: string, b: Uint8Array, m: Model): ModelSource => (externalLocations(m).length ? fileSource(f) : b);
  const original = sourceOf(file, bytes, model);
  const feeds = feedsFor(model, flags.inputs, flags);
  const none = { cleanup: () => {} };
  if (compiledFile) {
    const c = openModelFile(compiledFile);
    return { original, compiled: sourceOf(compiledFile, c.bytes, c.model), model, feeds, ...none };
  }
  if (fs.existsSync(`${file}.plan.json`)) return { original, compiled: original, model, feeds, ...none };
  progress.set('compiling');
  const m = modelFromFileBytes(bytes, file);
  compileForOrt(m, { ep: checkEp(flags.ep ?? 'cpu'), shapes: shapesFrom(flags.shape), passes: flags.passes ?? 'default', ...precisionOf(flags) });
  const c = sessionSource(encodeModelBytes(m, { autoLocation: AUTO_LOCATION }));
  return { original, compiled: c.source, model, feeds, cleanup: c.cleanup };
}

export function feedsFor(model: Model, inputs: string | undefined, flags: OrtFlags): Map<string, Tensor> {
  if (inputs) {
    let text: string;
    try {
      text = fs.readFileSync(inputs, 'utf8');
    } catch (e) {
      throw new MsgraphError('io', `cannot read ${(e as Error).message.split(':')[0] === 'ENOENT' ? 'it: no such file' : (e as Error).message}`, { file: inputs });
    }
    const feeds = parseBundle(text, inputs).inputs;
    checkFeeds(model, feeds, inputs);
    return feeds;
  }
  return randomInputs(model, Number(flags.seed ?? 1), { shapes: shapesFrom(flags.shape) });
}

/** An EP that cannot run here is the first thing reported. */
export async function availableEp(name: string | undefined): Promise<Ep> {
  const ep = checkEp(name ?? 'cpu');
  const why = await epUnavailable(ep);
  if (why) throw new MsgraphError('unsupported', why);
  return ep;
}
