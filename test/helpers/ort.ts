/** Test helpers: run models on onnxruntime-node and build inputs. */
import * as ort from 'onnxruntime-node';
import { it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tensor } from '../../src/ir/tensor.js';
import { parseBundle } from '../../src/ir/bundle.js';
import { randomInputs as srcRandomInputs } from '../../src/backends/ort/inputs.js';
import type { Model } from '../../src/ir/model.js';

export interface RunOutput {
  dtype: string;
  dims: number[];
  bytes: Uint8Array;
}

const ORT_TO_NUMPY: Record<string, string> = { float32: 'float32', float64: 'float64', int64: 'int64', int32: 'int32', bool: 'bool', uint8: 'uint8', int8: 'int8', float16: 'float16', int16: 'int16', uint16: 'uint16', uint32: 'uint32', uint64: 'uint64' };

const sessionOptions: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  logSeverityLevel: 4,
  extra: { session: { intra_op: { allow_spinning: '0' } } },
};

/**
 * `unoptimized` turns onnxruntime's graph rewrites off, so that two graphs computing the same ops in the same
 * order give bitwise equal outputs even when their constants are spelled differently (initializers vs Constant).
 */
export async function runOnnx(model: Uint8Array | string, feeds: Map<string, Tensor>, opts: { loadOnly?: boolean; unoptimized?: boolean } = {}): Promise<Map<string, RunOutput>> {
  const o = opts.unoptimized ? { ...sessionOptions, graphOptimizationLevel: 'disabled' as const } : sessionOptions;
  const session = typeof model === 'string' ? await ort.InferenceSession.create(model, o) : await ort.InferenceSession.create(model, o);
  try {
    if (opts.loadOnly) return new Map();
    const f: Record<string, ort.Tensor> = {};
    for (const [name, t] of feeds) f[name] = toOrt(t);
    const out = await session.run(f);
    const res = new Map<string, RunOutput>();
    for (const name of session.outputNames) {
      const o = out[name]!;
      const data = o.data as ArrayBufferView;
      const bytes = o.type === 'string' ? new TextEncoder().encode(JSON.stringify(o.data)) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
      res.set(name, { dtype: ORT_TO_NUMPY[o.type] ?? o.type, dims: [...o.dims], bytes });
    }
    return res;
  } finally {
    await session.release();
  }
}

export function toOrt(t: Tensor): ort.Tensor {
  const dims = [...t.dims];
  if (t.isString) return new ort.Tensor('string', t.strings.map((s) => new TextDecoder().decode(s)), dims);
  const b = t.bytes.slice();
  switch (t.dtype.name) {
    case 'int16': return new ort.Tensor('int16', new Int16Array(b.buffer), dims);
    case 'uint16': return new ort.Tensor('uint16', new Uint16Array(b.buffer), dims);
    case 'uint32': return new ort.Tensor('uint32', new Uint32Array(b.buffer), dims);
    case 'uint64': return new ort.Tensor('uint64', new BigUint64Array(b.buffer), dims);
    case 'float32': return new ort.Tensor('float32', new Float32Array(b.buffer), dims);
    case 'float64': return new ort.Tensor('float64', new Float64Array(b.buffer), dims);
    case 'int64': return new ort.Tensor('int64', new BigInt64Array(b.buffer), dims);
    case 'int32': return new ort.Tensor('int32', new Int32Array(b.buffer), dims);
    case 'bool': return new ort.Tensor('bool', new Uint8Array(b.buffer), dims);
    case 'uint8': return new ort.Tensor('uint8', new Uint8Array(b.buffer), dims);
    case 'int8': return new ort.Tensor('int8', new Int8Array(b.buffer), dims);
    case 'float16': return new ort.Tensor('float16', new Uint16Array(b.buffer), dims);
    default: throw new Error(`no ORT tensor for ${t.dtype.name}`);
  }
}

export { rng } from '../../src/backends/ort/inputs.js';

/** Seeded inputs (src/backends/ort/inputs.ts) with symbolic dims at 2 unless `dimValue`/`dims` say otherwise. */
export function randomInputs(model: Model, seed = 1, opts: { dimValue?: number; intRange?: number; dims?: Record<string, number> } = {}): Map<string, Tensor> {
  return srcRandomInputs(model, seed, { dimValue: 2, ...opts });
}

/** Where the zoo lives: MSGRAPH_ZOO, else models/.cache/zoo. */
export const ZOO_DIR = process.env.MSGRAPH_ZOO ?? path.resolve(import.meta.dirname, '../../models/.cache/zoo');
export const MODELS_DIR = path.resolve(import.meta.dirname, '../../models');
export const CORPUS_DIR = process.env.MSGRAPH_CORPUS ?? path.resolve(import.meta.dirname, '../../../shared/corpus');

export function zooModels(): string[] {
  if (!fs.existsSync(ZOO_DIR)) return [];
  return fs.readdirSync(ZOO_DIR).filter((f) => f.endsWith('.onnx')).sort().map((f) => path.join(ZOO_DIR, f));
}

/**
 * Inside a describe that loops over `files`: when there are none (no zoo exported, no ../shared corpus), one skipped
 * test says so, so that the suite is not empty and the summary counts what was left out.
 */
export function skipIfNone(files: readonly string[], what: 'zoo' | 'corpus'): void {
  if (files.length) return;
  const where = what === 'zoo' ? `${ZOO_DIR} (export it with npm run zoo; it needs Debian's python3-torch)` : `${CORPUS_DIR}`;
  it.skip(`no ${what} models: nothing at ${where}`, () => {});
}

export function committedModels(): string[] {
  return fs.readdirSync(MODELS_DIR).filter((f) => f.endsWith('.onnx')).sort().map((f) => path.join(MODELS_DIR, f));
}

export function corpusModels(): string[] {
  if (!fs.existsSync(CORPUS_DIR)) return [];
  return fs.readdirSync(CORPUS_DIR).filter((f) => f.endsWith('.onnx')).sort().map((f) => path.join(CORPUS_DIR, f));
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Inputs that make corpus models take their real paths (sample rates, sequence lengths they accept). */
const CORPUS_FEEDS: Record<string, { dims?: Record<string, number>; dimValue?: number; fixed?: Record<string, bigint> }> = {
  'silero-vad__silero_vad_16k_op15.onnx': { fixed: { sr: 16000n }, dims: { batch: 1, sequence: 512 } },
  'silero-vad__silero_vad_op18_ifless.onnx': { fixed: { sr: 16000n }, dims: { batch: 1, sequence: 512 } },
  'silero-vad__silero_vad_v4_torch1.12.onnx': { fixed: { sr: 16000n }, dims: { batch: 1, sequence: 512 } },
  'silero-vad__silero_vad_v3_torch1.9.onnx': { dims: { sequence: 512 } },
};

/** The model's tensor bundle inputs when it has one (zoo), else seeded random inputs tuned per corpus file. */
export function inputsFor(file: string, model: Model): Map<string, Tensor> {
  const bundle = file.replace(/\.onnx$/, '.io.json');
  if (fs.existsSync(bundle)) return parseBundle(fs.readFileSync(bundle, 'utf8'), bundle).inputs;
  const spec = CORPUS_FEEDS[path.basename(file)] ?? {};
  const feeds = randomInputs(model, 7, spec);
  for (const [name, v] of Object.entries(spec.fixed ?? {})) {
    const t = feeds.get(name);
    if (t) new DataView(t.bytes.buffer, t.bytes.byteOffset).setBigInt64(0, v, true);
  }
  return feeds;
}

/** Elements of all non-constant inputs, with symbolic dims counted as 2. */
export function inputElements(model: Model): number {
  return model.graph.inputs.filter((v) => !v.const).reduce((s, v) => {
    const shape = v.type?.kind === 'tensor' ? v.type.shape ?? [] : [];
    return s + shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 2), 1);
  }, 0);
}
