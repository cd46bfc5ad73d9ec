/** `msgraph run`: a model (compiled on the fly, or a compiled one) on an EP, its outputs printed or written. */
import type { Tensor } from '../src/ir/tensor.js';
import { formatBundle } from '../src/ir/bundle.js';
import { fromTensor, num } from '../src/ir/array.js';
import { stageFiles } from '../src/frontend/onnx/node-fs.js';
import { createSession } from '../src/backends/ort/session.js';
import { writeInterruptibly } from './interrupt.js';
import { Progress } from './progress.js';
import { availableEp, prepare, type OrtFlags } from './ort-models.js';

function summary(t: Tensor): string {
  if (t.isString || t.size === 0) return '';
  const a = num(fromTensor(t));
  let lo = Infinity;
  let hi = -Infinity;
  let sum = 0;
  for (const x of a) {
    lo = Math.min(lo, x);
    hi = Math.max(hi, x);
    sum += x;
  }
  const f = (x: number) => (Number.isInteger(x) ? String(x) : x.toPrecision(5));
  return `min ${f(lo)} max ${f(hi)} mean ${f(sum / a.length)}`;
}

export async function runCommand(file: string, opts: OrtFlags & { inputs?: string; output?: string }): Promise<void> {
  const progress = Progress.for(opts);
  const ep = await availableEp(opts.ep);
  const p = prepare(file, opts, progress);
  let outs: Map<string, Tensor>;
  try {
    progress.set(`running on ${ep}`);
    const s = await createSession(p.compiled, { ep });
    try {
      outs = await s.run(p.feeds);
    } finally {
      await s.release();
    }
  } finally {
    p.cleanup();
  }
  progress.done();
  if (opts.output) await writeInterruptibly(() => stageFiles([[opts.output!, [new TextEncoder().encode(formatBundle({ inputs: p.feeds, outputs: outs }))]]]));
  if (opts.json) {
    process.stdout.write(JSON.stringify({ ep, outputs: [...outs].map(([n, t]) => ({ name: n, dtype: t.dtype.name, shape: t.dims })) }, null, 2) + '\n');
    return;
  }
  for (const [n, t] of outs) process.stdout.write(`${n}: ${t.dtype.name}[${t.dims.join(',')}] ${summary(t)}\n`);
}
