/**
 * Accuracy of a reduced-precision plan, measured, not hoped for: the float32 plan and the reduced one run on the
 * same inputs, and every output is compared by cosine similarity, max abs error and max error relative to the
 * output's magnitude. The caller decides what is good enough (`--min-cosine`, 0.999 by default).
 */
import type { Tensor } from '../../ir/tensor.js';
import { createSession, type Ep, type ModelSource } from './session.js';
import { compareTensors, cosine } from './compare.js';
import { asFloatDtype } from './tensors.js';

export interface OutputAccuracy {
  name: string;
  cosine: number;
  max_abs: number;
  max_rel: number;
}

export const DEFAULT_MIN_COSINE = 0.999;

/** One session, one run, released. */
export async function runOnce(model: ModelSource, feeds: Map<string, Tensor>, ep: Ep): Promise<Map<string, Tensor>> {
  const s = await createSession(model, { ep });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

export async function measureAccuracy(fp32: ModelSource, reduced: ModelSource, feeds: Map<string, Tensor>, ep: Ep): Promise<OutputAccuracy[]> {
  const want = await runOnce(fp32, feeds, ep);
  const got = await runOnce(reduced, feeds, ep);
  return [...want].map(([name, w]) => {
    const r = got.get(name);
    const g = r && asFloatDtype(r, w.dtype.name);
    if (!g) return { name, cosine: NaN, max_abs: Infinity, max_rel: Infinity };
    const c = compareTensors(name, w, g, { rtol: 0, atol: 0 });
    return { name, cosine: cosine(w, g), max_abs: c.maxAbs, max_rel: c.maxRel };
  });
}

/** The first output below the bound, or null. NaN (an output that could not be compared) is below any bound. */
export function firstBelow(acc: readonly OutputAccuracy[], minCosine: number): OutputAccuracy | null {
  return acc.find((a) => !(a.cosine >= minCosine)) ?? null;
}
