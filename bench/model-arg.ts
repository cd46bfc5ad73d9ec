/** The command line of the start-up benchmarks: `[model.onnx ...] [--runs N]`, torchvision's vit_b_16 by default. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The models and run count; vit_b_16 is exported with Debian's PyTorch on first use. */
export function modelArgs(args: string[], defaultRuns: number): { files: string[]; runs: number } {
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : defaultRuns;
  const files = args.filter((a, i) => !a.startsWith('--') && (i === 0 || args[i - 1] !== '--runs'));
  if (!files.length) {
    const file = path.join(root, 'models/.cache/large/vit_b_16.onnx');
    if (!fs.existsSync(file)) {
      console.log('exporting torchvision vit_b_16 with /usr/bin/python3 (once)...');
      execFileSync('/usr/bin/python3', [path.join(root, 'models/zoo/export.py'), path.dirname(file), '--large', '--only', 'vit_b_16'], { stdio: 'inherit' });
    }
    files.push(file);
  }
  return { files, runs };
}
