/**
 * Numerical verification: run the original and the compiled model on the same inputs and compare every output
 * (max abs error, max error relative to the output's magnitude, mismatch count). With `perNode`, values that both
 * graphs still share by name become extra outputs, and the first one (in the compiled graph's order) that diverges
 * is reported with the node that produced it: the bisection that finds a bad rewrite.
 */
import type { Model } from '../../ir/model.js';
import type { Tensor } from '../../ir/tensor.js';
import type { Value } from '../../ir/value.js';
import { decodeModelBytes, encodeModelBytes, concatChunks } from '../../frontend/onnx/index.js';
import { createSession, type Ep, type ModelSource } from './session.js';
import { inferShapes } from '../../dialect/ops/infer.js';
import { compareTensors, type Comparison, type Tolerance } from './compare.js';

export { compareTensors, type Comparison, type Tolerance } from './compare.js';

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

async function runOn(bytes: ModelSource, feeds: Map<string, Tensor>, ep: Ep, optimizations: 'all' | 'disabled'): Promise<Map<string, Tensor>> {
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
export function withOutputs(m: Model, names: string[]): Uint8Array {
  const byName = new Map<string, Value>();
  for (const n of m.graph) for (const o of n.outputs) if (o) byName.set(o.name, o);
  for (const name of names) m.graph.outputs.push(byName.get(name)!);
  return concatChunks(encodeModelBytes(m).chunks);
}

export const modelOf = (source: ModelSource): Model => (source instanceof Uint8Array ? decodeModelBytes(source) : source.model());

export interface VerifyOptions extends Partial<Tolerance> {
  ep?: Ep;
  perNode?: boolean;
  /** Run the original with onnxruntime's optimisations off (the reference), default on. */
  referenceOptimizations?: 'all' | 'disabled';
}

export async function verifyModels(original: ModelSource, compiled: ModelSource, feeds: Map<string, Tensor>, opts: VerifyOptions = {}): Promise<VerifyReport> {
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
    const ma = modelOf(original);
    const mb = modelOf(compiled);
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
