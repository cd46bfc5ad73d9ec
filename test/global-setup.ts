import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

/** CLI tests run the built `msgraph`, browser tests the built page; build once (scripts/build.mjs) before any test. */
export default function setup(): void {
  const root = path.resolve(import.meta.dirname, '..');
  execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' });
}
