/**
 * Shape arithmetic on the host: ops that, given host (Python int / tuple) operands, produce a host value.
 */
import type { DialectOp } from '../../dialect/op-names.js';
import type { Node } from '../../ir/node.js';
import { MINT_DOMAIN } from '../../dialect/names.js';
import { dtypeName, shapeOf } from './cells.js';
import type { Emitter } from './emit.js';
import { INT_MAX, wrap, tuple, type OpCtx } from './op-context.js';

/** Python's operator for each host arithmetic op (`%` is Python's remainder, mint.remainder's sign rule). */
const SYMBOL: Partial<Record<DialectOp, string>> = { 'mint.add': '+', 'mint.sub': '-', 'mint.mul': '*', 'mint.div': '//', 'mint.remainder': '%' };

/** A Python expression for a dialect op computed on the host from host (Python int/tuple) operands, or null when the op cannot stay on the host. */
export function hostExpr(op: DialectOp, c: OpCtx, inputIsHost: (i: number) => boolean, outScalar: boolean): string | null {
  const lit = (i: number): string | null => {
    const k = c.ints(i);
    if (!k) return inputIsHost(i) ? c.host(i) : null;
    return c.rank(i) === 0 ? String(k[0]) : tuple(k);
  };
  const isScalar = (i: number) => c.rank(i) === 0;
  switch (op) {
    case 'msgraph.shape': {
      const start = c.attrInt('start', 0);
      const endA = c.node.attrs.get('end');
      const base = `${wrap(c.t(0))}.shape`;
      if (start === 0 && !endA) return base;
      return `${base}[${start === 0 ? '' : start}:${endA ? Number(endA.value) : ''}]`;
    }
    case 'msgraph.size':
      return `${wrap(c.t(0))}.numel()`;
    case 'msgraph.identity':
    case 'ops.cast':
      return lit(0);
    case 'mint.index_select': {
      const data = lit(0);
      const idx = c.ints(1);
      if (!data || !idx || c.attrInt('axis', 0) !== 0) return null;
      if (c.rank(1) === 0) return element(data, idx[0]!);
      if (idx.length === 1) return `(${element(data, idx[0]!)},)`;
      return tuple(idx.map((i) => element(data, i)));
    }
    case 'mint.unsqueeze': {
      const x = lit(0);
      if (!x || !isScalar(0)) return null;
      return `(${x},)`;
    }
    case 'mint.squeeze': {
      const x = lit(0);
      if (!x || !outScalar) return null;
      return element(x, 0);
    }
    case 'mint.cat': {
      const parts = c.node.inputs.map((_, i) => lit(i));
      if (parts.some((p) => p === null)) return null;
      return joinTuples(parts as string[]);
    }
    case 'msgraph.slice': {
      const x = lit(0);
      const s = c.attrInts('starts') ?? c.ints(1);
      const e = c.attrInts('ends') ?? c.ints(2);
      const steps = c.attrInts('steps') ?? (c.has(4) ? c.ints(4) : [1]);
      if (!x || !s || !e || s.length !== 1 || !steps || steps[0] !== 1) return null;
      return `${wrap(x)}[${s[0] === 0 ? '' : s[0]}:${e[0]! >= INT_MAX / 4 ? '' : e[0]}]`;
    }
    case 'mint.add':
    case 'mint.sub':
    case 'mint.mul':
    case 'mint.div':
    case 'mint.remainder': {
      if (!outScalar) {
        const a = lit(0);
        const b = lit(1);
        if (!a || !b) return null;
        const sym = SYMBOL[op];
        return elementwise(a, b, isScalar(0), isScalar(1), (p, q) => `${p} ${sym} ${q}`);
      }
      const a = lit(0);
      const b = lit(1);
      if (!a || !b) return null;
      const sym = SYMBOL[op];
      return `${wrap(a)} ${sym} ${wrap(b)}`;
    }
    case 'mint.eq': {
      const a = lit(0);
      const b = lit(1);
      if (!a || !b) return null;
      if (outScalar) return `${wrap(a)} == ${wrap(b)}`;
      return elementwise(a, b, isScalar(0), isScalar(1), (p, q) => `${p} == ${q}`);
    }
    case 'mint.where': {
      const [cnd, a, b] = [lit(0), lit(1), lit(2)];
      if (!cnd || !a || !b) return null;
      if (outScalar) return `${wrap(a)} if ${wrap(cnd)} else ${wrap(b)}`;
      const at = (x: string, i: number) => (isScalar(i) ? wrap(x) : `${wrap(x)}[i]`);
      return `tuple(${at(a, 1)} if ${wrap(cnd)}[i] else ${at(b, 2)} for i in range(len(${cnd})))`;
    }
    default:
      return null;
  }
}

/** A tuple built element by element (GRAPH_MODE has no zip): `tuple(a[i] * b[i] for i in range(len(a)))`. */
function elementwise(a: string, b: string, aScalar: boolean, bScalar: boolean, f: (p: string, q: string) => string): string {
  const len = aScalar ? b : a;
  return `tuple(${f(aScalar ? wrap(a) : `${wrap(a)}[i]`, bScalar ? wrap(b) : `${wrap(b)}[i]`)} for i in range(len(${len})))`;
}

/** `(a,) + (b, c) + x.shape[2:]` -> `(a, b, c) + x.shape[2:]`. */
function joinTuples(parts: string[]): string {
  const out: string[] = [];
  let run: string[] | null = null;
  for (const p of parts) {
    const m = /^\((.*?),?\)$/.exec(p);
    if (m && balanced(m[1]!)) {
      run = run ?? [];
      run.push(...splitTop(m[1]!));
      continue;
    }
    if (run) out.push(tuple(run));
    run = null;
    out.push(/^[\w.]+(\[[^\]]*\])?$/.test(p) ? p : `(${p})`);
  }
  if (run) out.push(tuple(run));
  return out.join(' + ');
}

/** Element `i` of a host tuple: picked out of a tuple literal (`(seq_len,)[0]` is `seq_len`), else indexed. */
export function element(t: string, i: number): string {
  const m = /^\((.*?),?\)$/.exec(t);
  const parts = m && balanced(m[1]!) ? splitTop(m[1]!) : null;
  const at = parts && i < 0 ? parts.length + i : i;
  return parts && at >= 0 && at < parts.length ? parts[at]! : `${wrap(t)}[${i}]`;
}

function balanced(s: string): boolean {
  let d = 0;
  for (const ch of s) {
    if (ch === '(' || ch === '[') d++;
    else if (ch === ')' || ch === ']') d--;
    if (d < 0) return false;
  }
  return d === 0;
}

export function splitTop(s: string): string[] {
  const out: string[] = [];
  let d = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(' || ch === '[') d++;
    if (ch === ')' || ch === ']') d--;
    if (ch === ',' && d === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

export const HOST_OPS = new Set<string>([
  'msgraph.shape', 'msgraph.size', 'msgraph.identity', 'ops.cast', 'mint.index_select', 'mint.unsqueeze', 'mint.squeeze', 'mint.cat',
  'msgraph.slice', 'mint.add', 'mint.sub', 'mint.mul', 'mint.div', 'mint.remainder', 'mint.eq', 'mint.where',
] satisfies DialectOp[]);

/** Marks the values of `nodes` computed on the host: shapes, and small integer arithmetic on host values. */
export function findHost(e: Emitter, nodes: Node[]): void {
  for (const n of nodes) {
    const op = n.domain === MINT_DOMAIN ? n.op : '';
    if (!HOST_OPS.has(op) || n.outputs.length !== 1 || !n.outputs[0]) continue;
    const out = n.outputs[0];
    if (op === 'msgraph.shape' || op === 'msgraph.size') {
      e.host.add(out);
      continue;
    }
    const dt = dtypeName(out);
    const shape = shapeOf(out);
    if (!dt || !/int|bool/.test(dt) || !shape || shape.length > 1) continue;
    const ok = n.inputs.every((v, i) => !v || e.host.has(v) || (e.constants.has(v) && e.smallInt(v)) || (op === 'mint.where' && i === 0 && e.host.has(v)));
    if (ok && n.inputs.some((v) => v && e.host.has(v))) e.host.add(out);
  }
}
