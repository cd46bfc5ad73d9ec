/**
 * The ONNX backend node tests. Prints a table and `N passed, N failed, N skipped`; fails when a test that is not
 * listed in known-failures.json fails (a regression), and reports listed ones that pass now.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runAll, type CaseResult } from './runner.js';

const ROOT = process.env.MSGRAPH_NODE_TESTS ?? path.resolve(import.meta.dirname, '../../models/.cache/onnx-node-tests/node');
const KNOWN = path.join(import.meta.dirname, 'known-failures.json');
const have = fs.existsSync(ROOT);
if (!have) console.warn(`\n*** SKIPPED ONNX conformance: ${ROOT} is missing (npm test generates it with Debian's python3-onnx) ***\n`);

function table(results: CaseResult[]): string {
  const w = Math.max(...results.map((r) => r.name.length));
  return results.map((r) => `${r.name.padEnd(w)}  ${r.status.padEnd(7)}  ${r.reason}`).join('\n');
}

describe.skipIf(!have)('ONNX backend node tests', () => {
  it('has no regressions', async () => {
    const results = await runAll(ROOT);
    const known: Record<string, string> = JSON.parse(fs.readFileSync(KNOWN, 'utf8'));
    const count = (s: string) => results.filter((r) => r.status === s).length;
    const out = process.env.MSGRAPH_CONFORMANCE_OUT;
    if (out) fs.writeFileSync(out, JSON.stringify(results, null, 1));
    if (process.env.MSGRAPH_CONFORMANCE_TABLE) console.log(table(results));
    const unsupported = new Map<string, number>();
    for (const r of results) {
      const m = /^unsupported: (\S+)/.exec(r.reason);
      if (m) unsupported.set(m[1]!, (unsupported.get(m[1]!) ?? 0) + 1);
    }
    console.log(`unsupported ops: ${[...unsupported].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    console.log(`conformance: ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped (of ${results.length})`);
    const regressions = results.filter((r) => r.status === 'failed' && !(r.name in known));
    const fixed = results.filter((r) => r.status !== 'failed' && r.name in known).map((r) => r.name);
    if (fixed.length) console.log(`listed as failing but not failing now (remove from known-failures.json): ${fixed.join(', ')}`);
    expect(regressions.map((r) => `${r.name}: ${r.reason}`)).toEqual([]);
  }, 900_000);
});
