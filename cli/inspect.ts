import { loadModelFile } from '../src/frontend/onnx/node-fs.js';
import { inspectModel, protoStats } from '../src/frontend/inspect.js';
import { formatInspect } from '../src/frontend/inspect-format.js';
import { MsgraphError } from '../src/errors.js';
import { formatShapes, shapesReport } from '../src/frontend/shapes-report.js';
import { fusionSummary } from '../src/passes/summary.js';

export function inspectCommand(file: string, opts: { json?: boolean; depth: string; shapes?: boolean; fusions?: boolean }): void {
  const depth = Number(opts.depth);
  if (!Number.isInteger(depth) || depth < 0) throw new MsgraphError('usage', `--depth must be a non-negative integer, got ${JSON.stringify(opts.depth)}`);
  let stats: ReturnType<typeof protoStats> | undefined;
  const model = loadModelFile(file, { beforeImport: (p) => (stats = protoStats(p)) });
  // Inference first, so that the summary's inputs and outputs show the inferred types.
  const shapes = opts.shapes ? shapesReport(model) : undefined;
  const summary = inspectModel(model, stats!, file);
  const fusions = opts.fusions ? fusionSummary(loadModelFile(file)) : undefined;
  if (opts.json) {
    process.stdout.write(JSON.stringify({ ...summary, ...(shapes ? { shapes } : {}), ...(fusions ? { fusions } : {}) }, null, 2) + '\n');
    return;
  }
  process.stdout.write(formatInspect(summary, { depth }));
  if (shapes) process.stdout.write(formatShapes(shapes));
  if (fusions) {
    const counts = Object.entries(fusions.counts).map(([k, v]) => `${k} ${v}`).join(', ');
    process.stdout.write(`  fusions      ${counts}\n`);
    for (const m of fusions.nearMisses) process.stdout.write(`    not fused: ${safe(m.node) || '(unnamed)'}: ${m.reason}\n`);
  }
}

const safe = (s: string) => s.replace(/[^\x20-\x7e]/g, '?');
