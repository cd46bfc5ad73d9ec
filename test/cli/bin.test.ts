/** The README's first command runs `npx msgraph`: the built bin must run as an executable, not only under node. */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { CLI, ROOT } from '../helpers/cli.js';
import { VERSION } from '../../src/version.js';

describe('the msgraph bin', () => {
  it('is executable and runs through npx', () => {
    expect(fs.statSync(CLI).mode & 0o111).not.toBe(0);
    const direct = spawnSync(CLI, ['--version'], { encoding: 'utf8' });
    expect(direct.stdout.trim()).toBe(VERSION);
    const npx = spawnSync('npx', ['--no-install', 'msgraph', '--version'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(npx.stdout.trim()).toBe(VERSION);
  });
});
