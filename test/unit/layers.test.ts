/**
 * The layering of the source tree: a module imports only from its own layer or the ones below it
 * (ir <- dialect <- frontend, eval <- passes <- backends <- api, browser, cli, web), nothing shipped imports from
 * test/, and value imports form no cycle across folders (one folder's mutual recursion is allowed).
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Layer of a file (relative to the root, .ts). */
function layerOf(f: string): number {
  if (/^src\/(ir|util)\//.test(f) || f === 'src/errors.ts' || f === 'src/version.ts') return 0;
  if (f.startsWith('src/dialect/')) return 1;
  if (f.startsWith('src/frontend/') || f.startsWith('src/eval/')) return 2;
  if (f.startsWith('src/passes/')) return 3;
  if (f.startsWith('src/backends/')) return 4;
  return 5;
}

function sources(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(path.join(ROOT, d), { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) out.push(p);
    }
  };
  for (const d of ['src', 'cli', 'web']) walk(d);
  return out;
}

/** Relative imports of a file: [target file, type-only]. */
function importsOf(f: string): [string, boolean][] {
  const text = fs.readFileSync(path.join(ROOT, f), 'utf8');
  const out: [string, boolean][] = [];
  for (const m of text.matchAll(/^(import|export)(\s+type)?[^'";]*?from\s+'(\.[^']+)'/gms)) {
    out.push([path.normalize(path.join(path.dirname(f), m[3]!)).replace(/\.js$/, '.ts'), !!m[2]]);
  }
  for (const m of text.matchAll(/import\('(\.[^']+)'\)/g)) out.push([path.normalize(path.join(path.dirname(f), m[1]!)).replace(/\.js$/, '.ts'), false]);
  return out;
}

describe('source layering', () => {
  const files = sources();

  it('the layer rule itself', () => {
    expect(['src/ir/graph.ts', 'src/dialect/ops/infer.ts', 'src/eval/kernel.ts', 'src/passes/manager.ts', 'src/backends/ort/plan.ts', 'cli/main.ts'].map(layerOf)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('no module imports from a layer above its own', () => {
    const up = files.flatMap((f) => importsOf(f).filter(([t]) => layerOf(t) > layerOf(f)).map(([t]) => `${f} -> ${t}`));
    expect(up).toEqual([]);
  });

  it('nothing shipped imports from test/ or reaches into it by path', () => {
    const bad = files.filter((f) => importsOf(f).some(([t]) => t.startsWith('test/')) || /['"/]test\/(standin|helpers)/.test(fs.readFileSync(path.join(ROOT, f), 'utf8')));
    expect(bad).toEqual([]);
  });

  it('the cycle finder finds cycles', () => {
    const g = new Map([['a/x.ts', ['a/y.ts']], ['a/y.ts', ['a/x.ts', 'b/z.ts']], ['b/z.ts', []]]);
    expect(findCycles(g)).toEqual([['a/x.ts', 'a/y.ts']]);
  });

  it('no import cycle crosses a folder', () => {
    const graph = new Map(files.map((f) => [f, importsOf(f).filter(([t, typeOnly]) => !typeOnly && t !== f).map(([t]) => t)]));
    const crossing = findCycles(graph).filter((c) => new Set(c.map((f) => path.dirname(f))).size > 1);
    expect(crossing).toEqual([]);
  });
});

/** Strongly connected components of more than one file (Tarjan), each sorted. */
function findCycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1) cycles.push(c.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}
