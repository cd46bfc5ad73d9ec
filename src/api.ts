/**
 * The library's front door: `loadModel`, `compile`, `createSession` and `verify`. Everything here works on bytes;
 * only `loadModel(path)` reads files, through the Node adapter loaded on demand.
 */
import { MsgraphError } from './errors.js';
import type { Model } from './ir/model.js';
import type { Tensor } from './ir/tensor.js';
import { concatChunks, decodeModelBytes, encodeModelBytes } from './frontend/onnx/index.js';
import { compileForOrt, type OrtCompileOptions } from './backends/ort/compile.js';
import type { Plan } from './backends/ort/plan.js';
import type { PassRecord } from './passes/manager.js';
import { buildMindSporePackage, type PackageOptions } from './backends/mindspore/package.js';
import type { EmitResult } from './backends/mindspore/emit.js';
import { verifyModels, type VerifyOptions, type VerifyReport } from './backends/ort/verify.js';
import { randomInputs, type RandomInputOptions } from './backends/ort/inputs.js';

/** Where loadModel read a model from, for names in generated code. */
const sources = new WeakMap<Model, string>();

/** A model from an .onnx path (Node) or its bytes (anywhere); `file` names bytes in messages and generated code. */
export async function loadModel(source: string | Uint8Array, opts: { file?: string } = {}): Promise<Model> {
  let m: Model;
  if (typeof source === 'string') {
    const fsAdapter = await import('./frontend/onnx/node-fs.js');
    m = fsAdapter.loadModelFile(source);
  } else m = decodeModelBytes(source, { file: opts.file ?? '<bytes>' });
  const name = typeof source === 'string' ? source : opts.file;
  if (name) sources.set(m, name.replace(/^.*[\\/]/, ''));
  return m;
}

export interface OnnxCompiled {
  target: 'onnx';
  model: Model;
  plan: Plan;
  passes: PassRecord[];
  /** The compiled model's bytes (ONNX protobuf). */
  bytes(): Uint8Array;
}

export interface MindSporeCompiled {
  target: 'mindspore';
  /** model.py, weights, weight_map.json, report.json, report.md, run_example.py. */
  files: Map<string, Uint8Array>;
  result: EmitResult;
  partial: boolean;
}

export type CompileOptions = ({ target?: 'onnx' } & OrtCompileOptions) | ({ target: 'mindspore' } & PackageOptions);

/** Compiles a model in place (the Model is consumed) for ONNX Runtime or into a MindSpore package. */
export function compile(model: Model, opts: { target: 'mindspore' } & PackageOptions): MindSporeCompiled;
export function compile(model: Model, opts?: { target?: 'onnx' } & OrtCompileOptions): OnnxCompiled;
export function compile(model: Model, opts: CompileOptions = {}): OnnxCompiled | MindSporeCompiled {
  if (opts.target === 'mindspore') {
    const pkg = buildMindSporePackage(model, { source: sources.get(model), ...opts });
    return { target: 'mindspore', files: new Map(pkg.files.map(([n, c]) => [n, concatChunks([...c])])), result: pkg.result, partial: pkg.partial };
  }
  if (opts.target !== undefined && opts.target !== 'onnx') throw new MsgraphError('usage', `unknown target ${String(opts.target)}`);
  const res = compileForOrt(model, opts);
  return { target: 'onnx', model: res.model, plan: res.plan, passes: res.passes, bytes: () => concatChunks(encodeModelBytes(res.model).chunks) };
}

const bytesOf = (m: Model | Uint8Array) => (m instanceof Uint8Array ? m : concatChunks(encodeModelBytes(m).chunks));

/**
 * Runs both models on the same inputs (seeded random ones when none are given) and compares every output;
 * `perNode` also names the first shared value that diverges.
 */
export async function verify(
  original: Model | Uint8Array,
  compiled: Model | Uint8Array,
  opts: VerifyOptions & { inputs?: Map<string, Tensor>; random?: RandomInputOptions & { seed?: number } } = {},
): Promise<VerifyReport> {
  const a = bytesOf(original);
  const feeds = opts.inputs ?? randomInputs(original instanceof Uint8Array ? decodeModelBytes(original) : original, opts.random?.seed ?? 1, opts.random ?? {});
  return verifyModels(a, bytesOf(compiled), feeds, opts);
}

export { createSession, type Session, type SessionOptions, type Ep } from './backends/ort/session.js';
