/**
 * msgraph in the browser (`msgraph/browser`): the same frontend, passes and backends as the CLI, with file access
 * through the File API instead of node:fs. A model is opened from the files a user picked (the .onnx and any
 * external-data files); external tensors are read slice by slice, so data files over 2 GB never become one buffer.
 * Nothing here imports Node built-ins or onnxruntime-node; the page passes onnxruntime-web in.
 */
import { MsgraphError } from './errors.js';
import type { Model } from './ir/model.js';
import type { Tensor } from './ir/tensor.js';
import { parseModelProto, encodeModelBytes, concatChunks, PROTOBUF_LIMIT } from './frontend/onnx/index.js';
import { importModel } from './frontend/onnx/import.js';
import type { ExternalDataResolver } from './frontend/onnx/tensors.js';
import { inspectModel, protoStats, type InspectSummary } from './frontend/inspect.js';
import { formatInspect } from './frontend/inspect-format.js';
import { compileForOrt, type OrtCompileOptions } from './backends/ort/compile.js';
import { Profile, type PhaseRecord } from './util/profile.js';
import type { Plan } from './backends/ort/plan.js';
import type { PassRecord } from './passes/manager.js';
import { buildMindSporePackage, type PackageOptions } from './backends/mindspore/package.js';
import { fusionSummary, type FusionSummary } from './passes/summary.js';
import { zipChunks } from './util/zip.js';
import { compareTensors, cosine, type Comparison } from './backends/ort/compare.js';
import { fromOrtTensor, toOrtTensor, type OrtTensorCtor, type OrtTensorLike } from './backends/ort/tensors.js';

export { MsgraphError, isMsgraphError } from './errors.js';
export { VERSION } from './version.js';
export { randomInputs } from './backends/ort/inputs.js';
export { parseBundle, formatBundle } from './ir/bundle.js';
export { nodeScope } from './frontend/hierarchy.js';
export { EP_CAPABILITIES } from './backends/ort/capabilities.js';
export { parseShapeSpec } from './backends/ort/compile.js';
export { decodeModelBytes } from './frontend/onnx/index.js';
export type { Model, Tensor, InspectSummary, FusionSummary, Plan, PassRecord, Comparison };

/** What the page needs of a File (a Blob with a name). */
export interface BrowserFile {
  name: string;
  size: number;
  slice(start?: number, end?: number): { arrayBuffer(): Promise<ArrayBuffer> };
  arrayBuffer(): Promise<ArrayBuffer>;
}

export interface OpenedModel {
  name: string;
  bytes: Uint8Array;
  stats: ReturnType<typeof protoStats>;
  /** A fresh copy of the model (passes rewrite models in place). */
  load(): Model;
  externalBytes: number;
  /** External data files by the location the model names them with (for onnxruntime-web's externalData). */
  externalFiles: Map<string, BrowserFile>;
}

type Progress = (what: string, done: number, total: number) => void;

const SLICE = 64 * 1024 * 1024;

/**
 * Opens the one .onnx file among `files`; the others are its external data, matched by name. External tensors are
 * read in slices of at most `sliceBytes` (64 MiB by default).
 */
export async function openModel(files: readonly BrowserFile[], onProgress?: Progress, opts: { sliceBytes?: number } = {}): Promise<OpenedModel> {
  const sliceBytes = opts.sliceBytes ?? SLICE;
  const onnx = files.filter((f) => /\.onnx$/i.test(f.name));
  if (onnx.length !== 1) {
    throw new MsgraphError('usage', onnx.length ? `choose one .onnx file, not ${onnx.length}` : 'no .onnx file was chosen', { hint: 'pick the model (.onnx) and, if it has any, its external data files' });
  }
  const file = onnx[0]!;
  if (file.size > PROTOBUF_LIMIT) throw new MsgraphError('unsupported', `${file.name} is ${file.size} bytes, over protobuf's 2 GiB limit for an .onnx file`, { file: file.name, hint: 'keep the weights in external data files' });
  onProgress?.(`reading ${file.name}`, 0, file.size);
  const bytes = new Uint8Array(await file.arrayBuffer());
  const p = parseModelProto(bytes, file.name);
  const stats = protoStats(p);
  const byName = new Map(files.filter((f) => f !== file).map((f) => [f.name, f]));
  const cache = new Map<string, Uint8Array>();
  const wanted = new Map<string, { f: BrowserFile; offset: number; length: number }>();
  const externalFiles = new Map<string, BrowserFile>();
  const resolver: ExternalDataResolver = {
    resolve(location, offset, length, tensor) {
      const fail = (msg: string, hint?: string) => new MsgraphError('external-data', `tensor ${JSON.stringify(tensor)}: ${msg}`, { file: file.name, hint });
      const loc = JSON.stringify(location);
      if (location.includes('\0') || location.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(location) || location.split(/[\\/]/).includes('..')) {
        throw fail(`external data location ${loc} is not a path inside the model's directory`);
      }
      const f = byName.get(location) ?? byName.get(location.split(/[\\/]/).pop()!);
      if (!f) throw fail(`its external data file ${loc} was not provided`, 'choose the external data files together with the .onnx file');
      const len = length ?? f.size - offset;
      if (offset < 0 || len < 0 || offset + len > f.size) throw fail(`external data file ${loc} is too short (${f.size} bytes; needs ${offset + len})`);
      const key = `${f.name}\0${offset}\0${len}`;
      externalFiles.set(location, f);
      wanted.set(key, { f, offset, length: len });
      const load = () => {
        const b = cache.get(key);
        if (!b) throw fail(`external data ${loc} was not read`);
        return b;
      };
      return { length: len, load, pieces: () => [load()] };
    },
  };
  const first = importModel(p, { file: file.name, external: resolver });
  // Read every external tensor's bytes, in slices of at most 64 MiB, before anything touches them.
  const total = [...wanted.values()].reduce((s, w) => s + w.length, 0);
  let done = 0;
  for (const [key, w] of wanted) {
    const buf = new Uint8Array(w.length);
    for (let at = 0; at < w.length; at += sliceBytes) {
      const end = Math.min(w.length, at + sliceBytes);
      buf.set(new Uint8Array(await w.f.slice(w.offset + at, w.offset + end).arrayBuffer()), at);
      done += end - at;
      onProgress?.('reading external data', done, total);
    }
    cache.set(key, buf);
  }
  let fresh: Model | null = first;
  return {
    name: file.name,
    bytes,
    stats,
    externalBytes: total,
    externalFiles,
    load: () => {
      const m = fresh ?? importModel(parseModelProto(bytes, file.name), { file: file.name, external: resolver });
      fresh = null;
      return m;
    },
  };
}

export interface Summary {
  inspect: InspectSummary;
  text: string;
  fusions: FusionSummary;
}

export function summarize(m: OpenedModel): Summary {
  const inspect = inspectModel(m.load(), m.stats, m.name);
  return { inspect, text: formatInspect(inspect, { depth: 2 }), fusions: fusionSummary(m.load()) };
}

export interface Compiled {
  model: Model;
  bytes: Uint8Array;
  plan: Plan;
  passes: PassRecord[];
  ms: number;
  /** Each phase's time, as `compile --profile` prints it (memory is not measurable in a page). */
  profile: PhaseRecord[];
}

/** The ONNX Runtime target, as `msgraph compile --target onnx`. */
export function compileModel(m: OpenedModel, opts: OrtCompileOptions = {}): Compiled {
  const t0 = performance.now();
  const prof = new Profile();
  const model = prof.run('decode', () => m.load());
  const r = compileForOrt(model, { ...opts, profile: prof });
  const bytes = prof.run('encode', () => concatChunks(encodeModelBytes(r.model).chunks));
  return { model: r.model, bytes, plan: r.plan, passes: r.passes, ms: performance.now() - t0, profile: prof.phases };
}

export interface MindSporeResult {
  modelPy: string;
  files: [string, Uint8Array[]][];
  /** The package as a .zip (model.py, weights, weight_map.json, report, run_example.py). */
  zip: Uint8Array[];
  partial: boolean;
}

export function mindsporePackage(m: OpenedModel, opts: PackageOptions = {}): MindSporeResult {
  const pkg = buildMindSporePackage(m.load(), opts);
  // In the page the files are held in memory anyway (the .zip is built from them).
  const files = pkg.files.map(([n, c]): [string, Uint8Array[]] => [n, [...c].map((x) => (x instanceof Uint8Array ? x : x.load()))]);
  const py = files.find(([n]) => n === 'model.py');
  const modelPy = py ? new TextDecoder().decode(concatChunks(py[1])) : '';
  return { modelPy, files, zip: zipChunks(files.map(([n, c]) => [`mindspore_model/${n}`, c])), partial: pkg.partial };
}

/** What the page needs of onnxruntime-web. */
export interface OrtWeb {
  Tensor: OrtTensorCtor;
  InferenceSession: { create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtSession> };
}
interface OrtSession {
  run(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
  outputNames: readonly string[];
}

export interface RunComparison {
  ep: string;
  original: { median_ms: number; runs: number };
  compiled: { median_ms: number; runs: number };
  /** Each output compared element-wise, and its cosine similarity to the original's. */
  outputs: (Comparison & { cosine: number })[];
  /** The compiled model's outputs. */
  results: Map<string, Tensor>;
  ok: boolean;
}

async function timed(ort: OrtWeb, model: Uint8Array, feeds: Map<string, Tensor>, ep: string, runs: number, externalData?: { path: string; data: string | Uint8Array }[]): Promise<{ outs: Map<string, Tensor>; median: number }> {
  let session: OrtSession;
  try {
    // Warnings (such as node placement notes) stay out of the console; errors still throw.
    session = await ort.InferenceSession.create(model, { executionProviders: [ep], graphOptimizationLevel: 'all', logSeverityLevel: 3, ...(externalData?.length ? { externalData } : {}) });
  } catch (e) {
    throw new MsgraphError('unsupported', `onnxruntime-web (${ep}) cannot load the model: ${String((e as Error)?.message ?? e).split('\n')[0]}`);
  }
  try {
    const f: Record<string, OrtTensorLike> = {};
    for (const [n, t] of feeds) f[n] = toOrtTensor(t, ort.Tensor);
    let out: Record<string, OrtTensorLike> = {};
    const times: number[] = [];
    for (let i = 0; i < runs + 1; i++) {
      const t0 = performance.now();
      try {
        out = await session.run(f);
      } catch (e) {
        throw new MsgraphError('unsupported', `onnxruntime-web (${ep}) failed to run the model: ${String((e as Error)?.message ?? e).split('\n')[0]}`);
      }
      if (i > 0) times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const outs = new Map(session.outputNames.map((n) => [n, fromOrtTensor(out[n]!, n)]));
    return { outs, median: times[Math.floor(times.length / 2)] ?? NaN };
  } finally {
    await session.release();
  }
}

/**
 * Runs the original and the compiled model on onnxruntime-web, one session at a time, and compares every output:
 * element-wise within rtol/atol, or, for a reduced-precision plan (`minCosine`), by cosine similarity as the CLI does.
 */
export async function compareOnOrt(
  ort: OrtWeb, original: Uint8Array, compiled: Uint8Array, feeds: Map<string, Tensor>,
  opts: { ep: string; runs?: number; rtol?: number; atol?: number; minCosine?: number; externalData?: { path: string; data: string | Uint8Array }[] },
): Promise<RunComparison> {
  const runs = opts.runs ?? 5;
  const a = await timed(ort, original, feeds, opts.ep, runs, opts.externalData);
  const b = await timed(ort, compiled, feeds, opts.ep, runs);
  const tol = { rtol: opts.rtol ?? 1e-3, atol: opts.atol ?? 1e-4 };
  const outputs = [...a.outs].map(([n, t]) => {
    const got = b.outs.get(n);
    if (!got) return { name: n, ok: false, maxAbs: Infinity, maxRel: Infinity, mismatches: t.size, elements: t.size, problem: 'missing from the compiled model', cosine: NaN };
    const c = { ...compareTensors(n, t, got, tol), cosine: cosine(t, got) };
    return opts.minCosine === undefined ? c : { ...c, ok: c.cosine >= opts.minCosine };
  });
  return { ep: opts.ep, original: { median_ms: a.median, runs }, compiled: { median_ms: b.median, runs }, outputs, results: b.outs, ok: outputs.every((o) => o.ok) };
}
