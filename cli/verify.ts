/** `msgraph verify`: the compiled model (or the MindSpore package) against the original, output by output. */
import { MsgraphError } from '../src/errors.js';
import { checkPrecision } from '../src/backends/ort/quantize.js';
import { verifyModels, type Comparison, type VerifyReport } from '../src/backends/ort/verify.js';
import { Progress } from './progress.js';
import { availableEp, prepare, type OrtFlags } from './ort-models.js';
import { verifyPrecision } from './precision.js';
import { verifyMindSpore } from './verify-mindspore.js';

function fmtCmp(c: Comparison): string {
  const e = (x: number) => (Number.isFinite(x) ? x.toExponential(2) : String(x));
  return `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: max abs ${e(c.maxAbs)}, max rel ${e(c.maxRel)}, ${c.mismatches}/${c.elements} mismatched${c.problem ? ` (${c.problem})` : ''}`;
}

export async function verifyCommand(file: string, opts: OrtFlags & { inputs?: string; target?: string; perNode?: boolean; rtol?: string; atol?: string; compiled?: string }): Promise<void> {
  const progress = Progress.for(opts);
  const rtol = Number(opts.rtol ?? 1e-4);
  const atol = Number(opts.atol ?? 1e-6);
  if (!(rtol >= 0) || !(atol >= 0)) throw new MsgraphError('usage', '--rtol and --atol must be non-negative numbers');
  const ep = await availableEp(opts.ep);
  const precision = checkPrecision(opts.precision ?? 'fp32');
  if (precision !== 'fp32' && (opts.target ?? 'onnx') === 'onnx') return verifyPrecision(file, opts, ep, precision, progress);
  let report: VerifyReport;
  let label: string;
  if ((opts.target ?? 'onnx') === 'mindspore') {
    report = await verifyMindSpore(file, opts, { rtol, atol }, progress);
    label = 'MindSpore package under the torch-backed stand-in (not MindSpore)';
  } else {
    const p = prepare(file, opts, progress, opts.compiled);
    try {
      progress.set(opts.perNode ? 'running both models with every shared value exposed' : 'running both models');
      report = await verifyModels(p.original, p.compiled, p.feeds, { ep, rtol, atol, perNode: opts.perNode });
    } finally {
      p.cleanup();
    }
    label = `compiled model on ${ep}`;
  }
  progress.done();
  if (opts.json) process.stdout.write(JSON.stringify({ target: label, ...report }, null, 2) + '\n');
  else {
    process.stdout.write(`verify: ${label} against the original on onnxruntime (rtol ${rtol}, atol ${atol})\n`);
    for (const c of report.outputs) process.stdout.write(`  ${fmtCmp(c)}\n`);
    if (report.firstDivergence) {
      const d = report.firstDivergence;
      process.stdout.write(`  first divergence: value ${d.value} from node ${d.node || '(unnamed)'} (${d.op}), after ${d.checked} matching shared values\n    ${fmtCmp(d.comparison)}\n`);
    } else if (report.firstDivergence === null) process.stdout.write(`  per-node: all ${report.sharedValues} shared values match\n`);
    process.stdout.write(report.ok ? 'PASS\n' : 'FAIL\n');
  }
  if (!report.ok) process.exitCode = 1;
}
