/**
 * One session interface over onnxruntime-node (cpu, webgpu, cuda) and onnxruntime-web (wasm), loaded on demand so
 * that nothing here pulls Node-only code into a browser bundle until a Node EP is asked for.
 */
import { MsgraphError } from '../../errors.js';
import type { Tensor } from '../../ir/tensor.js';
import type { Model } from '../../ir/model.js';
import { asFloatDtype, fromOrtTensor, toOrtTensor, type OrtTensorCtor, type OrtTensorLike } from './tensors.js';

export const EPS = ['cpu', 'wasm', 'webgpu', 'cuda'] as const;
export type Ep = (typeof EPS)[number];

export interface SessionOptions {
  ep?: Ep;
  /** Intra-op threads (cpu) or wasm threads; 1 by default so that measurements are stable. */
  threads?: number;
  /** onnxruntime's own graph optimisations: 'all' (default) or 'disabled'. */
  optimizations?: 'all' | 'disabled';
}

/** A model file on disk, with external data next to it (made by `fileSource` in Node). */
export interface FileSource {
  /** onnxruntime-node reads the path itself, external data included. */
  path: string;
  /** The file's bytes and those of every external data file its tensors name (onnxruntime-web takes bytes). */
  read(): { bytes: Uint8Array; externalData: { path: string; data: Uint8Array }[] };
  /** The model in the IR (per-node comparisons). */
  model(): Model;
}

/** A model for a session: its bytes, or a file (needed when tensors live in external data files). */
export type ModelSource = Uint8Array | FileSource;

export interface Session {
  readonly ep: Ep;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Map<string, Tensor>): Promise<Map<string, Tensor>>;
  release(): Promise<void>;
}

interface OrtModule {
  Tensor: OrtTensorCtor;
  InferenceSession: { create(model: Uint8Array | string, options: Record<string, unknown>): Promise<OrtSession> };
  env: { wasm: { numThreads?: number }; logLevel?: string };
  listSupportedBackends?: () => { name: string; bundled: boolean }[];
}
interface OrtSession {
  inputNames: readonly string[];
  /** onnxruntime 1.22 and later. */
  inputMetadata?: readonly { name: string; isTensor: boolean; type?: unknown }[];
  outputNames: readonly string[];
  run(feeds: Record<string, OrtTensorLike>, options?: Record<string, unknown>): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}

export function checkEp(ep: string): Ep {
  if (!(EPS as readonly string[]).includes(ep)) throw new MsgraphError('usage', `unknown execution provider ${JSON.stringify(ep)}`, { hint: `one of ${EPS.join(', ')}` });
  return ep as Ep;
}

async function ortFor(ep: Ep): Promise<OrtModule> {
  try {
    const mod = (ep === 'wasm' ? await import('onnxruntime-web') : await import('onnxruntime-node')) as unknown as OrtModule & { default?: OrtModule };
    return mod.InferenceSession ? mod : mod.default!;
  } catch (e) {
    const pkg = ep === 'wasm' ? 'onnxruntime-web' : 'onnxruntime-node';
    throw new MsgraphError('unsupported', `the ${ep} execution provider needs ${pkg}, which could not be loaded: ${(e as Error).message.split('\n')[0]}`, { hint: `npm install ${pkg}` });
  }
}

/** Why an EP cannot run here, or null when it can (as far as can be told without creating a session). */
export async function epUnavailable(ep: Ep): Promise<string | null> {
  if (ep === 'cuda') {
    const ort = await ortFor('cpu');
    const cuda = ort.listSupportedBackends?.().find((b) => b.name === 'cuda');
    if (!cuda || !cuda.bundled) {
      return 'the CUDA execution provider needs onnxruntime-node\'s CUDA binaries, which its install script downloads from outside npm; reinstall onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 on a machine with CUDA 12 and network access';
    }
  }
  return null;
}

function sourceFor(source: ModelSource, ep: Ep, options: Record<string, unknown>): Uint8Array | string {
  if (source instanceof Uint8Array) return source;
  if (ep !== 'wasm') return source.path;
  const { bytes, externalData } = source.read();
  if (externalData.length) options.externalData = externalData;
  return bytes;
}

export async function createSession(source: ModelSource, opts: SessionOptions = {}): Promise<Session> {
  const ep = opts.ep ?? 'cpu';
  const why = await epUnavailable(ep);
  if (why) throw new MsgraphError('unsupported', why);
  const ort = await ortFor(ep);
  const threads = opts.threads ?? 1;
  const options: Record<string, unknown> = {
    executionProviders: [ep],
    graphOptimizationLevel: opts.optimizations ?? 'all',
    // Fatal only: onnxruntime's own (coloured) log lines would join msgraph's one-line error on stderr; what went
    // wrong reaches the caller as the exception's message.
    logSeverityLevel: 4,
  };
  if (ep === 'wasm') {
    ort.env.wasm.numThreads = threads;
  } else {
    options.intraOpNumThreads = threads;
    options.interOpNumThreads = 1;
    // Idle intra-op threads would spin and steal CPU from whatever runs next (a second session, the comparison).
    options.extra = { session: { intra_op: { allow_spinning: '0' } } };
  }
  const model = sourceFor(source, ep, options);
  let s: OrtSession;
  try {
    s = await ort.InferenceSession.create(model, options);
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0] ?? '';
    if (ep === 'webgpu') throw new MsgraphError('unsupported', `the webgpu execution provider could not start here: ${msg}`, { hint: 'it needs a WebGPU adapter (a GPU and its driver); use --ep cpu or wasm' });
    throw new MsgraphError('unsupported', `onnxruntime (${ep}) cannot load the model: ${msg}`);
  }
  // Float feeds take the dtype each input has (a plan with float16 I/O takes float32 bundles), converted once.
  const inputTypes = new Map((s.inputMetadata ?? []).map((m) => [m.name, m.isTensor ? String(m.type) : '']));
  const converted = new WeakMap<Tensor, Tensor>();
  const asInput = (name: string, t: Tensor): Tensor => {
    const want = inputTypes.get(name);
    if (!want || want === t.dtype.name) return t;
    let c = converted.get(t);
    if (!c) converted.set(t, (c = asFloatDtype(t, want)));
    return c;
  };
  return {
    ep,
    inputNames: s.inputNames,
    outputNames: s.outputNames,
    async run(feeds) {
      const f: Record<string, OrtTensorLike> = {};
      for (const name of s.inputNames) {
        const t = feeds.get(name);
        if (!t) throw new MsgraphError('usage', `input ${name} was not given`);
        f[name] = toOrtTensor(asInput(name, t), ort.Tensor);
      }
      let out: Record<string, OrtTensorLike>;
      try {
        out = await s.run(f, { logSeverityLevel: 4 });
      } catch (e) {
        throw new MsgraphError('unsupported', `onnxruntime (${ep}) failed to run the model: ${(e as Error).message.split('\n')[0]}`);
      }
      return new Map(s.outputNames.map((n) => [n, fromOrtTensor(out[n]!, n)]));
    },
    release: () => s.release(),
  };
}
