/**
 * Dialect op names written as string literals outside the typed tables (passes, the ONNX Runtime backend, the
 * evaluator, the dialect, the frontend) must be names the dialect has: a misspelt `'mint.sotfmax'` compared against
 * `n.op` would never match and no compiler would say so. Patterns and the MindSpore emitters are typed
 * (`DialectOp`); this covers the comparisons. The MindSpore backend is left out: it also writes MindSpore API names
 * (`mint.nn.Conv2d`) that are not dialect ops.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DIALECT_OPS } from '../../src/dialect/op-names.js';

const ROOT = path.resolve(import.meta.dirname, '../../src');
const DIRS = ['passes', 'backends/ort', 'eval', 'dialect', 'frontend', 'ir'];
/** Literals of that shape that are not op names: node metadata keys. */
const NOT_OPS = new Set(['msgraph.inlined_from', 'msgraph.inlined_call']);

function* files(dir: string): Generator<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

describe('dialect op names in code', () => {
  it('every quoted mint./msgraph./ops. name in passes, backends/ort, eval, dialect, frontend and ir is a dialect op', () => {
    const known = new Set<string>(DIALECT_OPS);
    const bad: string[] = [];
    let seen = 0;
    for (const d of DIRS) {
      for (const f of files(path.join(ROOT, d))) {
        // The op tables name MindSpore APIs (`api('mint.zeros_like')`), which are not all dialect ops.
        if (f.endsWith('op-names.ts') || f.includes(`${path.sep}ops${path.sep}defs${path.sep}`)) continue;
        for (const m of fs.readFileSync(f, 'utf8').matchAll(/'((?:mint|msgraph|ops)\.[A-Za-z0-9_.]+)'/g)) {
          seen++;
          if (!known.has(m[1]!) && !NOT_OPS.has(m[1]!)) bad.push(`${path.relative(ROOT, f)}: ${m[1]}`);
        }
      }
    }
    expect(seen).toBeGreaterThan(100);
    expect(bad).toEqual([]);
  });
});
