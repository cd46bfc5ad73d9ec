/** `msgraph bench`: latency of the original and the compiled model in one run, and their ratio. */
import * as path from 'node:path';
import { MsgraphError } from '../src/errors.js';
import { benchModels } from '../src/backends/ort/bench.js';
import { Progress } from './progress.js';
import { availableEp, prepare, type OrtFlags } from './ort-models.js';

export async function benchCommand(file: string, opts: OrtFlags & { runs?: string; warmup?: string; threads?: string }): Promise<void> {
  const progress = Progress.for(opts);
  const ep = await availableEp(opts.ep);
  const runs = Number(opts.runs ?? 20);
  const warmup = Number(opts.warmup ?? 3);
  if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(warmup) || warmup < 0) throw new MsgraphError('usage', '--runs must be a positive integer and --warmup a non-negative one');
  const p = prepare(file, opts, progress);
  let r: Awaited<ReturnType<typeof benchModels>>;
  try {
    r = await benchModels(p.original, p.compiled, p.feeds, { ep, runs, warmup, threads: opts.threads ? Number(opts.threads) : undefined, onProgress: (what) => progress.set(`benchmarking ${what}`) });
  } finally {
    p.cleanup();
  }
  progress.done();
  if (opts.json) {
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    return;
  }
  const row = (name: string, s: typeof r.original) => `  ${name.padEnd(9)} create ${s.create_ms.toFixed(1).padStart(8)} ms   median ${s.median_ms.toFixed(3).padStart(9)} ms   p90 ${s.p90_ms.toFixed(3).padStart(9)} ms   ${s.throughput_per_s.toFixed(1).padStart(8)}/s\n`;
  process.stdout.write(`bench ${path.basename(file)} on ${ep}, ${r.original.runs} runs each:\n`);
  process.stdout.write(row('original', r.original));
  process.stdout.write(row('compiled', r.compiled));
  process.stdout.write(`  speedup ${r.speedup.toFixed(3)}x (original median / compiled median), session creation ${r.create_ratio.toFixed(2)}x\n`);
}
