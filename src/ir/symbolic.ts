/**
 * Symbolic dimension arithmetic. An expression is a polynomial with integer coefficients over atoms; an atom is a
 * dim name from the model (`batch`, `seq`) or an opaque term such as `floor(height/2)`. Expressions print to a
 * canonical string (`seq*4`, `height*2 + 1`), and strings produced here parse back to the same expression, so shapes
 * stay plain `number | string` in the IR.
 */
import type { Dim } from './shape.js';

/** monomial key (JSON of the sorted atom list; '' for the constant) -> coefficient */
export type Poly = Map<string, number>;

const interned = new Map<string, Poly>();

function norm(p: Poly): Poly {
  for (const [k, v] of p) if (v === 0) p.delete(k);
  return p;
}

export function constPoly(n: number): Poly {
  return norm(new Map([['', n]]));
}

export function atomPoly(name: string): Poly {
  return new Map([[monoKey([name]), 1]]);
}

/** The expression a dim stands for; a string not produced by this module is an atom. */
export function toPoly(d: number | string): Poly {
  if (typeof d === 'number') return constPoly(d);
  return interned.get(d) ?? atomPoly(d);
}

function monoKey(atoms: string[]): string {
  return atoms.length === 0 ? '' : JSON.stringify([...atoms].sort());
}

function atomsOf(key: string): string[] {
  return key === '' ? [] : (JSON.parse(key) as string[]);
}

export function add(a: Poly, b: Poly, sign = 1): Poly {
  const out = new Map(a);
  for (const [k, v] of b) out.set(k, (out.get(k) ?? 0) + sign * v);
  return norm(out);
}

export function mul(a: Poly, b: Poly): Poly {
  const out: Poly = new Map();
  for (const [ka, va] of a) {
    for (const [kb, vb] of b) {
      const k = monoKey([...atomsOf(ka), ...atomsOf(kb)]);
      out.set(k, (out.get(k) ?? 0) + va * vb);
    }
  }
  return norm(out);
}

export function isConst(p: Poly): number | null {
  if (p.size === 0) return 0;
  if (p.size === 1 && p.has('')) return p.get('')!;
  return null;
}

/** Exact quotient of p by d when every term divides, else null. */
function exactDiv(p: Poly, d: Poly): Poly | null {
  const c = isConst(d);
  if (c !== null) {
    if (c === 0) return null;
    const out: Poly = new Map();
    for (const [k, v] of p) {
      if (v % c !== 0) return null;
      out.set(k, v / c);
    }
    return out;
  }
  if (d.size !== 1) return equal(p, d) ? constPoly(1) : null;
  const [[dk, dv]] = [...d];
  const datoms = atomsOf(dk);
  const out: Poly = new Map();
  for (const [k, v] of p) {
    const atoms = atomsOf(k);
    for (const a of datoms) {
      const i = atoms.indexOf(a);
      if (i < 0) return null;
      atoms.splice(i, 1);
    }
    if (v % dv !== 0) return null;
    out.set(monoKey(atoms), v / dv);
  }
  return out;
}

function roundedDiv(kind: 'floor' | 'ceil', p: Poly, d: Poly): Poly {
  const cp = isConst(p);
  const cd = isConst(d);
  if (cp !== null && cd !== null && cd !== 0) return constPoly(Math[kind](cp / cd));
  // Intern both sides so that the opaque term evaluates back (see evaluate()).
  toDim(p);
  toDim(d);
  return exactDiv(p, d) ?? atomPoly(`${kind}(${formatFactor(p)}/${formatFactor(d)})`);
}

export const floorDiv = (p: Poly, d: Poly): Poly => roundedDiv('floor', p, d);
export const ceilDiv = (p: Poly, d: Poly): Poly => roundedDiv('ceil', p, d);

export function equal(a: Poly, b: Poly): boolean {
  const d = add(a, b, -1);
  return d.size === 0;
}

function formatFactor(p: Poly): string {
  const s = format(p);
  return p.size > 1 || (isConst(p) ?? 0) < 0 ? `(${s})` : s;
}

export function format(p: Poly): string {
  if (p.size === 0) return '0';
  const terms = [...p].sort(([ka], [kb]) => {
    const da = atomsOf(ka).length;
    const db = atomsOf(kb).length;
    return db - da || (ka < kb ? -1 : ka > kb ? 1 : 0);
  });
  let s = '';
  terms.forEach(([k, v], i) => {
    const neg = v < 0;
    const mag = Math.abs(v);
    const mono = atomsOf(k).join('*');
    const body = k === '' ? String(mag) : mag === 1 ? mono : `${mono}*${mag}`;
    if (i === 0) s = neg ? `-${body}` : body;
    else s += neg ? ` - ${body}` : ` + ${body}`;
  });
  return s;
}

/**
 * Longest canonical string a dim keeps. Longer expressions (nested floors of products, which grow exponentially
 * through a network of strided convolutions and reshapes) get a short name instead, derived from the expression,
 * so equal expressions still share it and it still evaluates; written out whole, ShuffleNet's value shapes were
 * 33 MB of text.
 */
const MAX_EXPRESSION = 160;
/** Short name -> the expression it stands for. */
const named = new Map<string, Poly>();

function nameOf(s: string): string {
  // Two FNV-1a hashes (different offsets): 64 bits, so distinct expressions do not share a name in practice.
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x01000193) >>> 0;
  }
  return `expr_${a.toString(16).padStart(8, '0')}${b.toString(16).padStart(8, '0')}`;
}

/** Back to a Dim: a number when constant, else the canonical string (remembered so it parses back). */
export function toDim(p: Poly): Dim {
  const c = isConst(p);
  if (c !== null) return c;
  const s = format(p);
  if (s.length > MAX_EXPRESSION) {
    const name = nameOf(s);
    if (!named.has(name)) named.set(name, p);
    return name;
  }
  // A lone atom needs no entry: an unknown string already reads back as that atom.
  if (!interned.has(s) && !(p.size === 1 && p.get(monoKey([s])) === 1)) interned.set(s, p);
  return s;
}

/** Dim-level helpers. */
export const dim = {
  add: (a: Dim, b: Dim): Dim => (a === null || b === null ? null : toDim(add(toPoly(a), toPoly(b)))),
  sub: (a: Dim, b: Dim): Dim => (a === null || b === null ? null : toDim(add(toPoly(a), toPoly(b), -1))),
  mul: (a: Dim, b: Dim): Dim => (a === null || b === null ? null : toDim(mul(toPoly(a), toPoly(b)))),
  floorDiv: (a: Dim, b: Dim): Dim => (a === null || b === null ? null : toDim(floorDiv(toPoly(a), toPoly(b)))),
  ceilDiv: (a: Dim, b: Dim): Dim => (a === null || b === null ? null : toDim(ceilDiv(toPoly(a), toPoly(b)))),
  equal: (a: Dim, b: Dim): boolean => a !== null && b !== null && equal(toPoly(a), toPoly(b)),
  product: (ds: Dim[]): Dim => ds.reduce<Dim>((acc, d) => dim.mul(acc, d), 1),
};

/** A dim that is one term, `coef * a * b`: its coefficient and atoms; null for a sum or a number. */
export function monomial(d: Dim): { coef: number; atoms: string[] } | null {
  if (d === null || typeof d === 'number') return null;
  const p = toPoly(d);
  if (p.size !== 1) return null;
  const [[key, coef]] = [...p];
  return key === '' ? null : { coef: coef!, atoms: atomsOf(key!) };
}

/** Binds symbols to numbers and evaluates; null if an atom is unbound or opaque. */
export function evaluate(d: Dim, env: Record<string, number>): number | null {
  if (d === null) return null;
  if (typeof d === 'number') return d;
  if (/^-?\d+$/.test(d)) return Number(d);
  return evaluatePoly(toPoly(d), env);
}

function evaluatePoly(p: Poly, env: Record<string, number>): number | null {
  let total = 0;
  for (const [k, v] of p) {
    let term = v;
    for (const a of atomsOf(k)) {
      const x = evalAtom(a, env);
      if (x === null) return null;
      term *= x;
    }
    total += term;
  }
  return total;
}

function evalAtom(a: string, env: Record<string, number>): number | null {
  if (a in env) return env[a]!;
  const long = named.get(a);
  if (long) return evaluatePoly(long, env);
  if (/^-?\d+$/.test(a)) return Number(a);
  const m = /^(floor|ceil)\((.*)\/(.+)\)$/.exec(a);
  if (!m) return null;
  const num = evaluate(m[2]!.replace(/^\((.*)\)$/, '$1'), env);
  const den = evaluate(m[3]!.replace(/^\((.*)\)$/, '$1'), env);
  if (num === null || den === null || den === 0) return null;
  return m[1] === 'floor' ? Math.floor(num / den) : Math.ceil(num / den);
}
