/**
 * ONNX backend node tests (generated from Debian's python onnx) run through msgraph: import -> mint dialect ->
 * shape/dtype inference (checked against the expected outputs) -> reference evaluator (checked against the expected
 * outputs, rtol 1e-3 / atol 1e-5) -> lowering to ONNX -> onnxruntime-node (bitwise against the original model,
 * with onnxruntime's own deviations from the reference outputs noted).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModelFile } from '../../src/frontend/onnx/node-fs.js';
import { concatChunks, encodeModelBytes } from '../../src/frontend/onnx/index.js';
import { Reader } from '../../src/frontend/onnx/protobuf.js';
import { decodeTensor } from '../../src/frontend/onnx/decode.js';
import { noExternalData, tensorFromP } from '../../src/frontend/onnx/tensors.js';
import { inferShapes } from '../../src/dialect/ops/infer.js';
import { lowerToOnnx, onnxOpOf, toMint } from '../../src/dialect/index.js';
import { evaluate } from '../../src/ir/symbolic.js';
import { formatType } from '../../src/ir/shape.js';
import { Tensor } from '../../src/ir/tensor.js';
import { isMsgraphError } from '../../src/errors.js';
import { EvalError, evaluateModel, hasKernel } from '../../src/eval/evaluator.js';
import { runOnnx, type RunOutput } from '../helpers/ort.js';
import { halfToFloat } from '../../src/ir/array.js';

export type Status = 'passed' | 'failed' | 'skipped';
export interface CaseResult {
  name: string;
  op: string;
  status: Status;
  reason: string;
}

const RANDOM = new Set(['Bernoulli', 'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial']);

/** An evaluator result in the shape onnxruntime results come in. */
function asRun(t: Tensor): RunOutput {
  if (t.isString) return { dtype: 'string', dims: [...t.dims], bytes: new TextEncoder().encode(JSON.stringify(t.strings.map((b) => new TextDecoder().decode(b)))) };
  return { dtype: t.dtype.name, dims: [...t.dims], bytes: t.bytes };
}

const RTOL = 1e-3;
const ATOL = 1e-5;
const FEEDABLE = new Set(['float32', 'float64', 'int64', 'int32', 'int16', 'uint16', 'uint32', 'uint64', 'bool', 'uint8', 'int8', 'float16', 'string']);

function readTensor(file: string): Tensor | null {
  const bytes = new Uint8Array(fs.readFileSync(file));
  try {
    return tensorFromP(decodeTensor(new Reader(bytes)), noExternalData);
  } catch {
    return null;
  }
}

function readSet(dir: string, prefix: string): Tensor[] | null {
  const files = fs.readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('.pb'));
  files.sort((a, b) => Number(a.replace(/\D/g, '')) - Number(b.replace(/\D/g, '')));
  const out: Tensor[] = [];
  for (const f of files) {
    const t = readTensor(path.join(dir, f));
    // Sequence / optional protos decode as tensors of data type 0, which tensorFromP refuses.
    if (!t) return null;
    out.push(t);
  }
  return out;
}

function close(actual: RunOutput, want: Tensor): string | null {
  if (want.isString) {
    const strings = JSON.stringify(want.strings.map((b) => new TextDecoder().decode(b)));
    return new TextDecoder().decode(actual.bytes) === strings ? null : 'strings differ';
  }
  if (actual.dtype === 'bfloat16' && want.dtype.name === 'uint16') {
    return Buffer.compare(Buffer.from(actual.bytes), Buffer.from(want.bytes)) === 0 ? null : 'bfloat16 bits differ';
  }
  if (actual.dtype !== want.dtype.name) return `dtype ${actual.dtype}, expected ${want.dtype.name}`;
  if (want.dtype.name === 'float16') {
    const a16 = new Uint16Array(actual.bytes.slice().buffer);
    const b16 = want.toArray() as Uint16Array;
    for (let i = 0; i < b16.length; i++) {
      const x = halfToFloat(a16[i]!);
      const y = halfToFloat(b16[i]!);
      if (!(Number.isNaN(y) && Number.isNaN(x)) && Math.abs(x - y) > ATOL + RTOL * Math.abs(y) && x !== y) return `value ${i}: ${x} vs ${y}`;
    }
    return null;
  }
  if (actual.dims.join(',') !== want.dims.join(',')) return `shape [${actual.dims}], expected [${want.dims}]`;
  if (want.dtype.kind !== 'float') return Buffer.compare(Buffer.from(actual.bytes), Buffer.from(want.bytes)) === 0 ? null : 'values differ';
  if (want.dtype.name === 'float16' || want.dtype.name === 'bfloat16') return null;
  const a = new (want.dtype.name === 'float64' ? Float64Array : Float32Array)(actual.bytes.slice().buffer);
  const b = want.toArray() as Float32Array | Float64Array;
  for (let i = 0; i < b.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(y) ? !Number.isNaN(x) : Math.abs(x - y) > ATOL + RTOL * Math.abs(y) && x !== y) {
      return `value ${i}: ${x} vs ${y}`;
    }
  }
  return null;
}

export async function runCase(dir: string): Promise<CaseResult> {
  try {
    return await runCaseInner(dir);
  } catch (e) {
    return { name: path.basename(dir), op: '?', status: 'failed', reason: `crash: ${(e as Error).stack?.split('\n').slice(0, 2).join(' ')}` };
  }
}

async function runCaseInner(dir: string): Promise<CaseResult> {
  const name = path.basename(dir);
  let op = '?';
  const res = (status: Status, reason: string): CaseResult => ({ name, op, status, reason });
  let model;
  try {
    model = loadModelFile(path.join(dir, 'model.onnx'));
  } catch (e) {
    return res('failed', `import: ${isMsgraphError(e) ? e.message : (e as Error).message}`);
  }
  op = model.graph.first?.op ?? '?';
  const data = path.join(dir, 'test_data_set_0');
  const inputs = readSet(data, 'input_');
  const outputs = readSet(data, 'output_');
  if (!inputs || !outputs) return res('skipped', 'sequence or optional inputs/outputs');
  const formal = model.graph.inputs.filter((v) => !v.const);
  if (formal.length !== inputs.length) return res('skipped', `test feeds ${inputs.length} of ${formal.length} inputs`);
  // numpy has no bfloat16: the generated data holds such inputs as their uint16 bits.
  formal.forEach((v, i) => {
    const t = inputs[i]!;
    if (v.type?.kind === 'tensor' && v.type.dtype?.name === 'bfloat16' && t.dtype.name === 'uint16') inputs[i] = Tensor.fromBytes(v.type.dtype, t.dims, t.bytes, t.name);
  });

  // Into the mint dialect; inference, the evaluator and lowering all work on it.
  try {
    toMint(model);
  } catch (e) {
    return res('failed', `to mint: ${(e as Error).message}`);
  }

  // Inference.
  let report;
  try {
    report = inferShapes(model);
  } catch (e) {
    return res('failed', `inference: ${isMsgraphError(e) ? e.message : (e as Error).stack}`);
  }
  const missing = report.unsupported.find((u) => u.kind === 'not-in-tables');
  if (missing) return res('skipped', `unsupported: ${missing.domain ? `${missing.domain}::` : ''}${missing.op}@${missing.opset} (${missing.reason})`);
  const notInferable = report.unsupported[0];
  const notes: string[] = [];
  if (notInferable) notes.push(`shapes need run-time values (${notInferable.op}: ${notInferable.reason})`);
  const env: Record<string, number> = {};
  formal.forEach((v, i) => {
    if (v.type?.kind === 'tensor' && v.type.shape) v.type.shape.forEach((d, k) => typeof d === 'string' && (env[d] = inputs[i]!.dims[k]!));
  });
  for (let i = 0; i < model.graph.outputs.length; i++) {
    const v = model.graph.outputs[i]!;
    const want = outputs[i];
    if (!want || v.type?.kind !== 'tensor') continue;
    // numpy has no bfloat16: the generated data stores such outputs as their uint16 bits.
    if (v.type.dtype?.name === 'bfloat16' && want.dtype.name === 'uint16') continue;
    if (v.type.dtype && v.type.dtype !== want.dtype) return res('failed', `inferred ${formatType(v.type)} for output ${i}, expected ${want.dtype.name}`);
    const shape = v.type.shape;
    if (!shape || shape.length !== want.dims.length) return res('failed', `inferred ${formatType(v.type)} for output ${i}, expected [${want.dims}]`);
    for (let k = 0; k < shape.length; k++) {
      const d = evaluate(shape[k]!, env);
      if (d !== null && d !== want.dims[k]) return res('failed', `inferred ${formatType(v.type)} for output ${i}, expected [${want.dims}]`);
    }
  }

  // Reference evaluator, where every op has a kernel and the op is deterministic.
  const opset = model.opset('') ?? 1;
  const onnxOp = (n: { domain: string; op: string }) => (n.domain === 'mint' ? onnxOpOf(n.op, opset) ?? n.op : n.op);
  const random = [...model.graph.allNodes()].find((n) => RANDOM.has(onnxOp(n)));
  if (random) notes.push(`evaluator not applicable (random op ${random.op})`);
  else if ([...model.graph.allNodes()].every((n) => hasKernel(n.domain, n.op, model.opset('') ?? 1))) {
    let got: Map<string, Tensor>;
    try {
      got = evaluateModel(model, new Map(formal.map((v, i) => [v.name, inputs[i]!])));
    } catch (e) {
      if (e instanceof EvalError && /not implemented/.test(e.message)) notes.push(`evaluator not applicable (${e.message})`);
      else return res('failed', `evaluator: ${(e as Error).message}`);
      got = new Map();
    }
    const names = model.graph.outputs.map((v) => v.name);
    for (let i = 0; i < names.length && got.size; i++) {
      const t = got.get(names[i]!);
      if (!t || !outputs[i]) continue;
      const why = close(asRun(t), outputs[i]!);
      if (why) return res('failed', `evaluator output ${i}: ${why}`);
    }
    if (got.size) notes.push('evaluator matches');
  } else {
    const missing = [...model.graph.allNodes()].find((n) => !hasKernel(n.domain, n.op, model.opset('') ?? 1))!;
    notes.push(`no evaluator kernel for ${missing.op}`);
  }

  // Round trip on onnxruntime-node.
  const done = (extra: string) => res('passed', [...notes, extra].filter(Boolean).join('; '));
  if (inputs.some((t) => !FEEDABLE.has(t.dtype.name))) return done('inference only: inputs of a dtype onnxruntime-node cannot take here');
  const feeds = new Map(formal.map((v, i) => [v.name, inputs[i]!]));
  const original = new Uint8Array(fs.readFileSync(path.join(dir, 'model.onnx')));
  let base;
  try {
    base = await runOnnx(original, feeds, { unoptimized: true });
  } catch (e) {
    return done(`inference only: onnxruntime-node cannot run the original (${(e as Error).message.split('\n')[0]!.slice(0, 80)})`);
  }
  let got;
  try {
    lowerToOnnx(model);
  } catch (e) {
    return res('failed', `lowering: ${(e as Error).message}`);
  }
  try {
    got = await runOnnx(concatChunks(encodeModelBytes(model).chunks), feeds, { unoptimized: true });
  } catch (e) {
    return res('failed', `round trip does not run: ${(e as Error).message.split('\n')[0]}`);
  }
  // Ours must equal onnxruntime on the original bit for bit; where onnxruntime itself strays from the
  // reference outputs, that is noted, not blamed on the round trip.
  const names = model.graph.outputs.map((v) => v.name);
  const deviations: string[] = [];
  for (let i = 0; i < names.length; i++) {
    const a = got.get(names[i]!);
    const b = base.get(names[i]!);
    if (!a || !b) return res('failed', `output ${names[i]} missing`);
    if (a.dtype !== b.dtype || a.dims.join() !== b.dims.join() || Buffer.compare(Buffer.from(a.bytes), Buffer.from(b.bytes)) !== 0) {
      return res('failed', `output ${i} differs from onnxruntime on the original model`);
    }
    if (!outputs[i]) continue;
    const why = close(b, outputs[i]!);
    if (why) deviations.push(`output ${i}: ${why}`);
  }
  return done(deviations.length ? `onnxruntime deviates from the reference outputs (${deviations.join('; ')})` : '');
}

export async function runAll(root: string): Promise<CaseResult[]> {
  const dirs = fs.readdirSync(root).filter((d) => fs.existsSync(path.join(root, d, 'model.onnx'))).sort();
  const out: CaseResult[] = [];
  for (const d of dirs) out.push(await runCase(path.join(root, d)));
  return out;
}
