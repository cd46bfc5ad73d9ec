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
import type { PassContext } from './pass.js';
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
}

export interface PassManagerOptions extends PassContext {
  verifyEach?: boolean;
  /** Pass names after which `onPrint` receives the model. */
  printAfter?: string[];
  onPrint?: (pass: string, model: Model) => void;
  onPass?: (pass: string, index: number, total: number) => void;
  /** Each pass becomes a phase of this profile. */
  profile?: Profile;
}

export function checkPassNames(names: readonly string[]): void {
  for (const n of names) {
    if (!PASSES.has(n)) throw new MsgraphError('usage', `unknown pass ${JSON.stringify(n)}`, { hint: `passes: ${[...PASSES.keys()].join(', ')}; or default, none` });
  }
}

export function runPasses(model: Model, names: readonly string[], opts: PassManagerOptions = {}): PassRecord[] {
  checkPassNames(names);
  for (const p of opts.printAfter ?? []) checkPassNames([p]);
  const records: PassRecord[] = [];
  names.forEach((name, i) => {
    const pass = PASSES.get(name)!;
    opts.onPass?.(name, i, names.length);
    const before = model.graph.nodeCount;
    const t0 = performance.now();
    let res;
    try {
      res = opts.profile ? opts.profile.run(`pass ${name}`, () => pass.run(model, opts)) : pass.run(model, opts);
      if (opts.verifyEach) {
        verify(model.graph, { checkNode: nodeChecks(model) });
        inferShapes(model);
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
    });
    if (opts.printAfter?.includes(name)) opts.onPrint?.(name, model);
  });
  return records;
}
