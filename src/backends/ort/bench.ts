/**
 * Latency of the original and the compiled model in one run, one session alive at a time (two live sessions on
 * few cores distort each other), with session-creation time, median, p90 and throughput, and their ratios.
 */
import type { Tensor } from '../../ir/tensor.js';
import { createSession, type Ep, type ModelSource } from './session.js';

export interface BenchStats {
  create_ms: number;
  median_ms: number;
  p90_ms: number;
  mean_ms: number;
  throughput_per_s: number;
  runs: number;
}

export interface BenchReport {
  ep: Ep;
  original: BenchStats;
  compiled: BenchStats;
  /** original median / compiled median: > 1 means the compiled model is faster. */
  speedup: number;
  create_ratio: number;
}

export interface BenchOptions {
  ep?: Ep;
  runs?: number;
  warmup?: number;
  threads?: number;
  /** Alternate between the two models this many times (each round runs `runs / rounds` of each). */
  rounds?: number;
  onProgress?: (what: string, done: number, total: number) => void;
}

function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (i - lo);
}

async function measure(bytes: ModelSource, feeds: Map<string, Tensor>, ep: Ep, runs: number, warmup: number, threads: number | undefined, times: number[]): Promise<number> {
  const t0 = performance.now();
  const s = await createSession(bytes, { ep, threads });
  const create = performance.now() - t0;
  try {
    for (let i = 0; i < warmup; i++) await s.run(feeds);
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await s.run(feeds);
      times.push(performance.now() - t);
    }
  } finally {
    await s.release();
  }
  return create;
}

function stats(times: number[], creates: number[]): BenchStats {
  const sorted = [...times].sort((a, b) => a - b);
  const median = quantile(sorted, 0.5);
  const mean = times.reduce((s, x) => s + x, 0) / times.length;
  return {
    create_ms: quantile([...creates].sort((a, b) => a - b), 0.5),
    median_ms: median,
    p90_ms: quantile(sorted, 0.9),
    mean_ms: mean,
    throughput_per_s: 1000 / mean,
    runs: times.length,
  };
}

export async function benchModels(original: ModelSource, compiled: ModelSource, feeds: Map<string, Tensor>, opts: BenchOptions = {}): Promise<BenchReport> {
  const ep = opts.ep ?? 'cpu';
  const runs = Math.max(1, opts.runs ?? 20);
  const warmup = opts.warmup ?? 3;
  const rounds = Math.max(1, Math.min(opts.rounds ?? 2, runs));
  const per = Math.ceil(runs / rounds);
  const t = { original: [] as number[], compiled: [] as number[] };
  const c = { original: [] as number[], compiled: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    // Alternate which goes first so that drift (thermal, caches) hits both alike.
    const order = r % 2 === 0 ? (['original', 'compiled'] as const) : (['compiled', 'original'] as const);
    for (const which of order) {
      opts.onProgress?.(`${which} (round ${r + 1}/${rounds})`, r, rounds);
      c[which].push(await measure(which === 'original' ? original : compiled, feeds, ep, per, warmup, opts.threads, t[which]));
    }
  }
  const o = stats(t.original, c.original);
  const k = stats(t.compiled, c.compiled);
  return { ep, original: o, compiled: k, speedup: o.median_ms / k.median_ms, create_ratio: k.create_ms / o.create_ms };
}
