import { loadModelFile } from '../src/frontend/onnx/node-fs.js';
import { inspectModel, protoStats } from '../src/frontend/inspect.js';
import { formatInspect } from '../src/frontend/inspect-format.js';
import { MsgraphError } from '../src/errors.js';

export function inspectCommand(file: string, opts: { json?: boolean; depth: string }): void {
  const depth = Number(opts.depth);
  if (!Number.isInteger(depth) || depth < 0) throw new MsgraphError('usage', `--depth must be a non-negative integer, got ${JSON.stringify(opts.depth)}`);
  let stats: ReturnType<typeof protoStats> | undefined;
  const model = loadModelFile(file, { beforeImport: (p) => (stats = protoStats(p)) });
  const summary = inspectModel(model, stats!, file);
  process.stdout.write(opts.json ? JSON.stringify(summary, null, 2) + '\n' : formatInspect(summary, { depth }));
}
