import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * CLI tests run the built `msgraph`, browser tests the built page; build once (scripts/build.mjs) before any test.
 * Every temporary file a test makes goes under one directory of this run (TMPDIR, which the test processes and
 * everything they start inherit), removed when the run ends.
 */
export default function setup(): () => void {
  const root = path.resolve(import.meta.dirname, '..');
  execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-tests-'));
  process.env.TMPDIR = tmp;
  return () => fs.rmSync(tmp, { recursive: true, force: true });
}
