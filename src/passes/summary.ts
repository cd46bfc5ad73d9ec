/** What the fusion passes find in a model (on a copy in the mint dialect): counts by kind, and the near-misses. */
import type { Model } from '../ir/model.js';
import { toMint } from '../dialect/to-mint.js';
import { inferShapes } from '../dialect/ops/infer.js';
import { runPasses } from './manager.js';
import { MINDSPORE_FUSIONS } from './registry.js';

export interface FusionSummary {
  counts: Record<string, number>;
  nearMisses: { node: string; reason: string }[];
}

/** `copy` is consumed (converted and rewritten in place). */
export function fusionSummary(copy: Model): FusionSummary {
  toMint(copy);
  inferShapes(copy);
  const recs = runPasses(copy, MINDSPORE_FUSIONS);
  const counts: Record<string, number> = {};
  for (const r of recs) if (r.name.startsWith('fuse-')) for (const [k, v] of Object.entries(r.stats)) counts[k] = (counts[k] ?? 0) + v;
  return { counts, nearMisses: recs.flatMap((r) => r.nearMisses ?? []) };
}
