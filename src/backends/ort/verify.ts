/**
 * Numerical verification: run the original and the compiled model on the same inputs and compare every output
 * (max abs error, max error relative to the output's magnitude, mismatch count). With `perNode`, values that both
 * graphs still share by name become extra outputs, and the first one (in the compiled graph's order) that diverges
 * is reported with the node that produced it: the bisection that finds a bad rewrite.
 */
import type { Model } from '../../ir/model.js';
import type { Tensor } from '../../ir/tensor.js';
import type { Value } from '../../ir/value.js';
import { fromTensor, num } from '../../eval/array.js';
import { decodeModelBytes, encodeModelBytes, concatChunks } from '../../frontend/onnx/index.js';
import { createSession, type Ep } from './session.js';
import { inferShapes } from '../../frontend/ops/infer.js';

export interface Tolerance {
  /** Allowed error relative to the largest magnitude of the expected tensor. */
  rtol: number;
  atol: number;
}

export interface Comparison {
  name: string;
  ok: boolean;
  maxAbs: number;
  maxRel: number;
  mismatches: number;
  elements: number;
  /** Set when the tensors cannot be compared element-wise. */
  problem?: string;
}

export interface Divergence {
  value: string;
  node: string;
  op: string;
  comparison: Comparison;
  /** Shared values compared before this one (all matched). */
  checked: number;
}

export interface VerifyReport {
  ok: boolean;
  outputs: Comparison[];
  firstDivergence?: Divergence | null;
  /** Intermediate values compared under perNode. */
  sharedValues?: number;
}

export function compareTensors(name: string, want: Tensor, got: Tensor, tol: Tolerance): Comparison {
  const base = { name, maxAbs: 0, maxRel: 0, mismatches: 0, elements: want.size };
  if (want.dtype !== got.dtype) return { ...base, ok: false, maxAbs: Infinity, maxRel: Infinity, mismatches: want.size, problem: `dtype ${got.dtype.name}, expected ${want.dtype.name}` };
  if (want.dims.length !== got.dims.length || want.dims.some((d, i) => d !== got.dims[i])) {
    return { ...base, ok: false, maxAbs: Infinity, maxRel: Infinity, mismatches: want.size, problem: `shape [${got.dims.join(',')}], expected [${want.dims.join(',')}]` };
  }
  if (want.isString) {
    const ok = want.strings.every((s, i) => new TextDecoder().decode(s) === new TextDecoder().decode(got.strings[i]!));
    return { ...base, ok, mismatches: ok ? 0 : 1 };
  }
  const a = num(fromTensor(want));
  const b = num(fromTensor(got));
  let mag = 0;
  for (const x of a) if (Number.isFinite(x)) mag = Math.max(mag, Math.abs(x));
  const exact = want.dtype.kind !== 'float';
  const allowed = exact ? 0 : tol.atol + tol.rtol * mag;
  let maxAbs = 0;
  let mismatches = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(x) || Number.isNaN(y) || !Number.isFinite(x) || !Number.isFinite(y)) {
      if (!(Number.isNaN(x) && Number.isNaN(y)) && x !== y) mismatches++;
      continue;
    }
    const d = Math.abs(x - y);
    if (d > maxAbs) maxAbs = d;
    if (d > allowed) mismatches++;
  }
  return { ...base, ok: mismatches === 0, maxAbs, maxRel: mag > 0 ? maxAbs / mag : maxAbs, mismatches };
}

async function runOn(bytes: Uint8Array, feeds: Map<string, Tensor>, ep: Ep, optimizations: 'all' | 'disabled'): Promise<Map<string, Tensor>> {
  const s = await createSession(bytes, { ep, optimizations });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

/** Values produced by nodes in both top-level graphs under the same name, typed alike. */
function sharedValues(a: Model, b: Model): { name: string; node: string; op: string }[] {
  inferShapes(a);
  inferShapes(b);
  const typed = (v: Value) => v.type?.kind === 'tensor' && !!v.type.dtype;
  const inA = new Map<string, Value>();
  for (const n of a.graph) for (const o of n.outputs) if (o && typed(o)) inA.set(o.name, o);
  const out: { name: string; node: string; op: string }[] = [];
  const outputs = new Set(b.graph.outputs.map((v) => v.name));
  for (const n of b.graph) {
    for (const o of n.outputs) {
      if (!o || !typed(o) || outputs.has(o.name)) continue;
      const other = inA.get(o.name);
      if (!other || other.type?.kind !== 'tensor' || o.type?.kind !== 'tensor' || other.type.dtype !== o.type.dtype) continue;
      out.push({ name: o.name, node: n.name, op: n.domain ? `${n.domain}.${n.op}` : n.op });
    }
  }
  return out;
}

/** The model's bytes with the named values (node outputs of the main graph) added as graph outputs. */
function withOutputs(m: Model, names: string[]): Uint8Array {
  const byName = new Map<string, Value>();
  for (const n of m.graph) for (const o of n.outputs) if (o) byName.set(o.name, o);
  for (const name of names) m.graph.outputs.push(byName.get(name)!);
  return concatChunks(encodeModelBytes(m).chunks);
}

export interface VerifyOptions extends Partial<Tolerance> {
  ep?: Ep;
  perNode?: boolean;
  /** Run the original with onnxruntime's optimisations off (the reference), default on. */
  referenceOptimizations?: 'all' | 'disabled';
}

export async function verifyModels(original: Uint8Array, compiled: Uint8Array, feeds: Map<string, Tensor>, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const tol: Tolerance = { rtol: opts.rtol ?? 1e-4, atol: opts.atol ?? 1e-6 };
  const ep = opts.ep ?? 'cpu';
  const want = await runOn(original, feeds, ep, opts.referenceOptimizations ?? 'all');
  const got = await runOn(compiled, feeds, ep, 'all');
  const outputs = [...want.entries()].map(([name, t]) => {
    const g = got.get(name);
    return g ? compareTensors(name, t, g, tol) : { name, ok: false, maxAbs: Infinity, maxRel: Infinity, mismatches: t.size, elements: t.size, problem: 'missing from the compiled model' };
  });
  const report: VerifyReport = { ok: outputs.every((c) => c.ok), outputs };
  if (opts.perNode) {
    const ma = decodeModelBytes(original);
    const mb = decodeModelBytes(compiled);
    const shared = sharedValues(ma, mb);
    const names = shared.map((s) => s.name);
    const a = await runOn(withOutputs(ma, names), feeds, ep, 'all');
    const b = await runOn(withOutputs(mb, names), feeds, ep, 'all');
    report.sharedValues = shared.length;
    report.firstDivergence = null;
    for (let i = 0; i < shared.length; i++) {
      const s = shared[i]!;
      const c = compareTensors(s.name, a.get(s.name)!, b.get(s.name)!, tol);
      if (!c.ok) {
        report.firstDivergence = { value: s.name, node: s.node, op: s.op, comparison: c, checked: i };
        break;
      }
    }
  }
  return report;
}
