/**
 * Runs passes in order, timing each and collecting its stats; optionally verifies the IR after every pass (tests
 * do: the graph's invariants, the op-level node checks, and inference run again, which fails on arities and
 * shapes a pass broke) and prints the graph after chosen passes. An error names the pass that raised it.
 */
import { MsgraphError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { verify } from '../ir/verify.js';
import { nodeChecks } from '../dialect/check.js';
import { inferShapes } from '../dialect/ops/infer.js';
import { printGraph } from '../ir/print.js';
import { InferenceCache, type Pass, type PassContext } from './pass.js';

export { InferenceCache } from './pass.js';
import { PASSES } from './registry.js';
import type { Profile } from '../util/profile.js';

export interface PassRecord {
  name: string;
  ms: number;
  modified: boolean;
  stats: Record<string, number>;
  nodesBefore: number;
  nodesAfter: number;
  nearMisses?: { node: string; reason: string }[];
  report?: Record<string, unknown>;
}

export interface PassManagerOptions extends PassContext {
  verifyEach?: boolean;
  /** Pass names after which `onPrint` receives the model. */
  printAfter?: string[];
  onPrint?: (pass: string, model: Model) => void;
  onPass?: (pass: string, index: number, total: number) => void;
  /** Each pass becomes a phase of this profile. */
  profile?: Profile;
  /** Where pass names are looked up: the dialect passes by default, or a target's own (its lowerings). */
  registry?: ReadonlyMap<string, Pass>;
}

export function checkPassNames(names: readonly string[], registry: ReadonlyMap<string, Pass> = PASSES): void {
  for (const n of names) {
    if (!registry.has(n)) throw new MsgraphError('usage', `unknown pass ${JSON.stringify(n)}`, { hint: `passes: ${[...registry.keys()].join(', ')}; or default, none` });
  }
}

/** `printAfter` may also name passes of another registry (a target's lowerings); only this one's are printed here. */
export function runPasses(model: Model, names: readonly string[], opts: PassManagerOptions = {}): PassRecord[] {
  const registry = opts.registry ?? PASSES;
  checkPassNames(names, registry);
  const records: PassRecord[] = [];
  const ctx: PassContext = { ...opts, inference: opts.inference ?? new InferenceCache(model) };
  // Checking each pass: the graph as inference leaves it, so that a pass that reports no change can be held to it.
  // (A graph inference rejects is left to the first pass's check, which names the pass.)
  let fresh = false;
  if (opts.verifyEach) {
    try {
      inferShapes(model);
      fresh = true;
    } catch {
      // left to the first pass's check
    }
  }
  names.forEach((name, i) => {
    const pass = registry.get(name)!;
    opts.onPass?.(name, i, names.length);
    const before = model.graph.nodeCount;
    const printed = opts.verifyEach && fresh ? printGraph(model.graph) : '';
    const t0 = performance.now();
    let res;
    try {
      res = opts.profile ? opts.profile.run(`pass ${name}`, () => pass.run(model, ctx)) : pass.run(model, ctx);
      if (res.modified) ctx.inference!.invalidate();
      if (opts.verifyEach) {
        // Inference between passes is reused after a pass that reports no change: it must have changed nothing.
        if (fresh && !res.modified && printGraph(model.graph) !== printed) throw new Error('reported no change but changed the graph');
        verify(model.graph, { checkNode: nodeChecks(model) });
        inferShapes(model);
        fresh = true;
      }
    } catch (e) {
      if (e instanceof MsgraphError) {
        e.message = `pass ${name}: ${e.message}`;
        throw e;
      }
      throw new Error(`pass ${name}: ${(e as Error).message}`, { cause: e });
    }
    records.push({
      name, ms: performance.now() - t0, modified: res.modified, stats: res.stats, nodesBefore: before, nodesAfter: model.graph.nodeCount,
      ...(res.nearMisses?.length ? { nearMisses: res.nearMisses } : {}),
      ...(res.report ? { report: res.report } : {}),
    });
    if (opts.printAfter?.includes(name)) opts.onPrint?.(name, model);
  });
  return records;
}
