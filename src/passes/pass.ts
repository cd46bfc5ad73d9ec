/**
 * The pass contract: `run(model, ctx) -> {modified, stats}`. A pass is idempotent: a second run reports
 * `modified: false` and leaves the printed graph unchanged.
 */
import type { Model } from '../ir/model.js';
import { inferShapes, type InferReport } from '../dialect/ops/infer.js';

/**
 * Inference of a model, kept while nothing changes the model: the pass manager drops it after a pass that reports
 * `modified`, so that the passes after one that changed nothing (most fusions, on most models) do not run
 * inference again. A pass reads it at its start, before it changes anything.
 */
export class InferenceCache {
  /** How many times inference ran for the passes. */
  runs = 0;

  constructor(private readonly model: Model, private report: InferReport | null = null) {}

  /** The report for the model as it is; inference runs when something changed since the last one. */
  get(): InferReport {
    if (!this.report) {
      this.report = inferShapes(this.model);
      this.runs++;
    }
    return this.report;
  }

  invalidate(): void {
    this.report = null;
  }
}

export interface PassContext {
  /** Execution provider the result is for (target-aware passes consult its capability table). */
  ep?: string;
  /** Largest constant a folding pass may create, in elements. */
  foldLimit?: number;
  /** Default-domain opset a lowering writes. */
  opset?: number;
  /** Node or weight names (globs with `*`) the precision passes keep in float32. */
  keepFp32?: readonly string[];
  /** Float inputs and outputs in float16 (precision passes). */
  io16?: boolean;
  /** The half type a port computes in (`float16`, `bfloat16`; the half-precision pass). */
  dtype?: string;
  /** Per input, which dims are free (a name) and which keep the export's size (a number) (free-dims; `--dim`). */
  dims?: Record<string, (string | number)[]>;
  /** Inference of the model as the pass finds it (read it before changing anything); see InferenceCache. */
  inference?: InferenceCache;
}

/** A candidate that did not fuse, and why. */
export interface NearMiss {
  node: string;
  reason: string;
}

export interface PassResult {
  modified: boolean;
  /** Counts by kind (nodes removed, constants folded, fusions by kind). */
  stats: Record<string, number>;
  /** Fusions: candidates that did not fuse, and why (`--explain-fusion`). */
  nearMisses?: { node: string; reason: string }[];
  /** What a pass reports beyond counts (the precision passes: names kept in float32, weight bytes). */
  report?: Record<string, unknown>;
}

export interface Pass {
  name: string;
  description: string;
  run(model: Model, ctx: PassContext): PassResult;
}

export function result(stats: Record<string, number>): PassResult {
  return { modified: Object.values(stats).some((n) => n > 0), stats };
}
