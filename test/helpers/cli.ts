import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const CLI = path.join(ROOT, 'dist/cli/msgraph.js');

export function msgraph(args: string[], opts: { cwd?: string } = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? ROOT, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs the CLI like `msgraph`, and reports the child's peak resident memory in MiB (read by the child itself at
 * exit), for checks that a hostile model cannot make msgraph allocate what it claims.
 */
export function msgraphMemory(args: string[], opts: { cwd?: string; timeout?: number } = {}): { code: number; stdout: string; stderr: string; maxRssMiB: number } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts/measure-cli.mjs'), ...args], {
    cwd: opts.cwd ?? ROOT, encoding: 'utf8', timeout: opts.timeout ?? 120_000, env: { ...process.env, MSGRAPH_CLI: CLI },
  });
  const m = /\n@@maxrss (\d+)\n$/.exec(r.stderr ?? '');
  return { code: r.status ?? -1, stdout: r.stdout, stderr: (r.stderr ?? '').replace(/\n@@maxrss \d+\n$/, ''), maxRssMiB: m ? Number(m[1]) / 1024 : Infinity };
}
