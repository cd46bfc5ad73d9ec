/**
 * The pass contract: `run(model, ctx) -> {modified, stats}`. A pass is idempotent: a second run reports
 * `modified: false` and leaves the printed graph unchanged.
 */
import type { Model } from '../ir/model.js';

export interface PassContext {
  /** Execution provider the result is for (target-aware passes consult its capability table). */
  ep?: string;
  /** Largest constant a folding pass may create, in elements. */
  foldLimit?: number;
}

export interface PassResult {
  modified: boolean;
  /** Counts by kind (nodes removed, constants folded, fusions by kind). */
  stats: Record<string, number>;
  /** Fusions: candidates that did not fuse, and why (`--explain-fusion`). */
  nearMisses?: { node: string; reason: string }[];
}

export interface Pass {
  name: string;
  description: string;
  run(model: Model, ctx: PassContext): PassResult;
}

export function result(stats: Record<string, number>): PassResult {
  return { modified: Object.values(stats).some((n) => n > 0), stats };
}
