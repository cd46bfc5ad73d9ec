/**
 * The README's first command runs `npx msgraph`: the built bin must run as an executable, not only under node. The
 * bin loads the bundled CLI with V8's code cache made at build time: the cache must be one V8 takes, for that very
 * script, and the bundle must still load the onnxruntime packages it requires on demand.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
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

  it('hands V8 a code cache it accepts, made from the bundle it names', () => {
    const loader = fs.readFileSync(CLI, 'utf8');
    const bundle = /'(msgraph-([0-9a-f]{16})\.cjs)'/.exec(loader);
    const cache = /'(msgraph-([0-9a-f]{16})\.cache)'/.exec(loader);
    expect(bundle && cache).toBeTruthy();
    expect(cache![2]).toBe(bundle![2]);
    const dir = path.dirname(CLI);
    const text = fs.readFileSync(path.join(dir, bundle![1]), 'utf8');
    // The name is the hash of the script without its source-map line (added after hashing).
    expect(createHash('sha256').update(text.replace(/\/\/# sourceMappingURL=.*\n$/, '')).digest('hex').slice(0, 16)).toBe(bundle![2]);
    // Checked in a plain node process, as the bin runs (this test runner's process may carry other V8 flags).
    const check = `
      const fs = require('node:fs'), vm = require('node:vm');
      const [file, cache] = process.argv.slice(1);
      const wrapped = '(function (exports, require, module, __filename, __dirname) {' + fs.readFileSync(file, 'utf8') + '\\n})';
      const s = new vm.Script(wrapped, { filename: file, cachedData: fs.readFileSync(cache) });
      const bare = new vm.Script(wrapped, { filename: file }).createCachedData().length;
      console.log(JSON.stringify({ rejected: s.cachedDataRejected, bare }));`;
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const r = spawnSync(process.execPath, ['-e', check, path.join(dir, bundle![1]), path.join(dir, cache![1])], { encoding: 'utf8', env });
    expect(r.stderr).toBe('');
    const res = JSON.parse(r.stdout) as { rejected: boolean; bare: number };
    expect(res.rejected).toBe(false);
    // The cache covers the compile path, not only the top level: far larger than what compiling the script alone makes.
    expect(fs.statSync(path.join(dir, cache![1])).size).toBeGreaterThan(res.bare * 4);
  });

  it('runs without its code cache, and loads onnxruntime on demand', () => {
    const loader = fs.readFileSync(CLI, 'utf8');
    const tmp = fs.mkdtempSync(path.join(ROOT, 'test-output', 'bin-'));
    try {
      // A copy of the bin whose cache is missing: V8 compiles the script as usual.
      const name = /'(msgraph-[0-9a-f]{16}\.cjs)'/.exec(loader)![1]!;
      fs.copyFileSync(path.join(path.dirname(CLI), name), path.join(tmp, name));
      fs.writeFileSync(path.join(tmp, 'msgraph.js'), loader);
      const r = spawnSync(process.execPath, [path.join(tmp, 'msgraph.js'), 'run', path.join(ROOT, 'models/bert.onnx'), '--shape', 'input_ids=1x8', '--shape', 'attention_mask=1x8'], { encoding: 'utf8', cwd: ROOT });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/last_hidden_state: float32\[1,8,64\]/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
