import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

/** CLI tests run the built `msgraph`, browser tests the built page; build once before any test file runs. */
export default function setup(): void {
  const root = path.resolve(import.meta.dirname, '..');
  execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  // The page (dist/web) for the browser tests.
  execFileSync(process.execPath, [path.join(root, 'scripts/build-web.mjs')], { cwd: root, stdio: 'inherit' });
}
