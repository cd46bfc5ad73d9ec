/**
 * Classes with optional parts. Instances of one module kind often differ by a part that some have and others lack:
 * a shortcut conv when the channels change, a downsampler on all but the last block, a squeeze-excitation in some
 * inverted residuals. A hand port writes one class that builds the part when it is needed (`self.conv_shortcut =
 * None` otherwise) and tests `if self.conv_shortcut is not None:` where it is used. This module merges two class
 * bodies when one is the other with some members added or removed: the members each side lacks become optional, the
 * statements that read them are guarded, and where the other side used another value in their place the guard's
 * `else` assigns that value.
 *
 * Bodies are the templates of classes.ts (numbers already taken out as slots); a merged body keeps one slot list
 * whose values cover the instances of both sides.
 */
import type { Mod } from './cells.js';

/** A token of a body line: text, or a number slot with its value in each instance. */
type Tok = string | { slot: string[] };
interface Line { indent: number; toks: Tok[] }

export interface Cand {
  mods: Mod[];
  init: Line[];
  sig: string;
  body: Line[];
  /** Per member (`self.X`): whether each instance has it. */
  present: Map<string, boolean[]>;
  /** Per variable a guard may skip: the value it takes when the guard is false. */
  elses: Map<string, string>;
  /** construct() arguments only some instances pass: the argument they stand for when absent (`x1=None`). */
  defaults: Map<string, string>;
  /** Per instance, for each of its own results, its position in the class's `return` (an instance may use fewer). */
  outs: number[][];
  /** The text of a merged body (set by merge, which renders it to check it). */
  rendered?: MergedBody;
}

const argsOf = (sig: string) => /^def construct\(self(?:, )?(.*)\):$/.exec(sig)?.[1]?.split(', ').filter(Boolean) ?? [];

/** The merged class, ready for parametrising: text with slot marks, per instance the slot values, and the flags. */
export interface MergedBody {
  text: string;
  values: string[][];
  at: { line: string; index: number; init: boolean }[];
  /** `\u0001k\u0001` in the text: a condition true for the instances that have `members`. */
  flags: { members: string[]; present: boolean[] }[];
}

/** Keyword arguments a layer call leaves out at their default value. */
const DEFAULTS: Record<string, string> = { stride: '1', padding: '0', dilation: '1', groups: '1', output_padding: '0' };
const TOKEN = /\u0000\d+\u0000|[A-Za-z_]\w*|\s+|[^\sA-Za-z_]/g;

function tokenize(text: string, values: string[][]): Line {
  const indent = /^ */.exec(text)![0].length;
  const toks: Tok[] = [];
  for (const t of text.slice(indent).match(TOKEN) ?? []) {
    const m = /^\u0000(\d+)\u0000$/.exec(t);
    toks.push(m ? { slot: values.map((v) => v[Number(m[1])]!) } : t);
  }
  return { indent, toks };
}

const memberOf = (l: Line): string | null => (l.toks[0] === 'self' && l.toks[1] === '.' && l.toks[3] === ' ' && l.toks[4] === '=' ? (l.toks[2] as string) : null);
const isSlot = (t: Tok): t is { slot: string[] } => typeof t !== 'string';

/** The members a line reads (`self.X`) and the names it reads and assigns. */
function refs(l: Line): { members: string[]; names: string[]; targets: string[] } {
  const members: string[] = [];
  const names: string[] = [];
  const eq = l.toks.findIndex((t, i) => t === '=' && l.toks[i - 1] === ' ' && l.toks[i + 1] === ' ');
  const targets = eq > 0 && l.indent === 4 ? (l.toks.slice(0, eq).filter((t) => typeof t === 'string' && /^[A-Za-z_]\w*$/.test(t)) as string[]) : [];
  l.toks.forEach((t, i) => {
    if (typeof t !== 'string' || !/^[A-Za-z_]\w*$/.test(t) || i < eq) return;
    if (l.toks[i - 1] === '.') {
      if (l.toks[i - 2] === 'self') members.push(t);
      return;
    }
    if (l.toks[i + 1] === '=' && l.toks[i + 2] !== '=') return; // a keyword argument
    names.push(t);
  });
  return { members, names, targets };
}

/** A class body as a candidate for merging; null for a body without construct(). */
export function candidate(mods: Mod[], text: string, values: string[][]): Cand | null {
  const lines = text.split('\n');
  const c = lines.findIndex((l) => l.startsWith('def construct('));
  if (c < 0 || lines[0] !== 'def __init__(self):' || lines[1] !== '    super().__init__()') return null;
  const init = lines.slice(2, c - 1).filter((l) => l !== '    pass').map((l) => tokenize(l, values));
  if (init.some((l) => l.indent !== 4 || !memberOf(l))) return null;
  const present = new Map(init.map((l) => [memberOf(l)!, mods.map(() => true)]));
  const body = lines.slice(c + 1).map((l) => tokenize(l, values));
  const n = returned(body)?.length ?? 1;
  return { mods, init, sig: lines[c]!, body, present, elses: new Map(), defaults: new Map(), outs: mods.map(() => [...Array(n).keys()]) };
}

/** The names a body's final `return a, b` returns; null when it returns anything else. */
function returned(body: Line[]): string[] | null {
  const l = body[body.length - 1];
  if (!l || l.indent !== 4 || l.toks[0] !== 'return' || l.toks[1] !== ' ') return null;
  const text = l.toks.slice(2);
  if (text.some((t) => typeof t !== 'string')) return null;
  const names = (text as string[]).join('').split(', ');
  return names.every((x) => /^[A-Za-z_]\w*$/.test(x)) ? names : null;
}

/**
 * The value an instance without an optional part passes on in place of `v`, a result of the part: the first value
 * the part's statements read that every instance has (a skipped downsampler passes its input through).
 */
function passedThrough(body: Line[], v: string, optional: Set<string>): string | null {
  const seen = new Set<string>();
  for (let name = v; optional.has(name) && !seen.has(name);) {
    seen.add(name);
    const def = body.find((l) => refs(l).targets.includes(name));
    const reads = def ? refs(def).names.filter((x) => x !== 'self') : [];
    const ready = reads.find((x) => !optional.has(x));
    if (ready) return ready;
    if (!reads.length) return null;
    name = reads[0]!;
  }
  return null;
}

/** Longest common subsequence of two lists under a pairing function; returns the pairs. */
function align<T, R>(a: T[], b: T[], pair: (x: T, y: T) => R | null): { i: number; j: number; r: R }[] {
  const n = a.length;
  const m = b.length;
  const dp = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  const memo = new Map<number, R | null>();
  const p = (i: number, j: number) => {
    const k = i * (m + 1) + j;
    if (!memo.has(k)) memo.set(k, pair(a[i]!, b[j]!));
    return memo.get(k)!;
  };
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) {
    dp[i]![j] = Math.max(dp[i + 1]![j]!, dp[i]![j + 1]!, p(i, j) !== null ? dp[i + 1]![j + 1]! + 1 : 0);
  }
  const out: { i: number; j: number; r: R }[] = [];
  for (let i = 0, j = 0; i < n && j < m;) {
    const r = p(i, j);
    if (r !== null && dp[i]![j] === dp[i + 1]![j + 1]! + 1) {
      out.push({ i, j, r });
      i++;
      j++;
    } else if (dp[i + 1]![j]! >= dp[i]![j + 1]!) i++;
    else j++;
  }
  return out;
}

/** Two member lines as one (slots joined; a keyword one side leaves at its default gets that value). */
function joinInit(a: Line, b: Line, na: number, nb: number): Line | null {
  const toks: Tok[] = [];
  const kwAt = (l: Tok[], i: number) => (l[i] === ',' && l[i + 1] === ' ' && typeof l[i + 2] === 'string' && DEFAULTS[l[i + 2] as string] !== undefined && l[i + 3] === '=' && isSlot(l[i + 4]!) ? (l[i + 2] as string) : null);
  let i = 0;
  let j = 0;
  while (i < a.toks.length || j < b.toks.length) {
    const x = a.toks[i];
    const y = b.toks[j];
    const ka = kwAt(a.toks, i);
    const kb = kwAt(b.toks, j);
    if (ka && ka !== kb && !b.toks.includes(ka)) {
      toks.push(...a.toks.slice(i, i + 4), { slot: [...(a.toks[i + 4] as { slot: string[] }).slot, ...new Array<string>(nb).fill(DEFAULTS[ka]!)] });
      i += 5;
      continue;
    }
    if (kb && kb !== ka && !a.toks.includes(kb)) {
      toks.push(...b.toks.slice(j, j + 4), { slot: [...new Array<string>(na).fill(DEFAULTS[kb]!), ...(b.toks[j + 4] as { slot: string[] }).slot] });
      j += 5;
      continue;
    }
    if (x !== undefined && y !== undefined && isSlot(x) && isSlot(y)) toks.push({ slot: [...x.slot, ...y.slot] });
    else if (x !== undefined && x === y) toks.push(x);
    else return null;
    i++;
    j++;
  }
  return { indent: a.indent, toks };
}

/** The variables of a body that depend on the given members (through the statements that read them). */
function dependents(body: Line[], members: Set<string>): Set<string> {
  const vars = new Set<string>();
  for (const l of body) {
    const r = refs(l);
    if (r.members.some((m) => members.has(m)) || r.names.some((n) => vars.has(n))) r.targets.forEach((t) => vars.add(t));
  }
  return vars;
}

/**
 * `a` and `b` as one class, or null when they are not one body with optional parts (or the merged code would be
 * mostly guards).
 */
export function merge(a: Cand, b: Cand): Cand | null {
  // An instance that passes fewer arguments (self-attention, where cross-attention also takes the context) reads
  // the first ones under the same names; the others default to the argument it used in their place.
  const extra = new Set<string>();
  if (a.sig !== b.sig) {
    const [aa, ba] = [argsOf(a.sig), argsOf(b.sig)];
    if (ba.length >= aa.length || !ba.length || a.defaults.size || b.defaults.size) return null;
    const rename = new Map(ba.map((x, i) => [x, aa[i]!]));
    // Every name the renamed body takes from `a` must be free in it.
    if (aa.filter((x) => !ba.includes(x)).some((x) => b.body.some((l) => l.toks.includes(x)))) return null;
    b = { ...b, sig: a.sig, body: b.body.map((l) => ({ indent: l.indent, toks: l.toks.map((t) => (typeof t === 'string' ? rename.get(t) ?? t : t)) })) };
    aa.slice(ba.length).forEach((x) => extra.add(x));
  }
  // An instance that returns fewer results (the last down block returns its hidden state once; the others also
  // return the downsampled one): the class returns them all, and its caller takes the ones it needs.
  const [ra, rb] = [returned(a.body), returned(b.body)];
  let ret: { line: Line; names: string[]; at: number[] } | null = null;
  if (ra && rb && rb.length < ra.length) {
    if (!rb.every((x) => ra.includes(x)) || new Set(rb).size !== rb.length) return null;
    ret = { line: a.body[a.body.length - 1]!, names: ra, at: rb.map((x) => ra.indexOf(x)) };
    a = { ...a, body: a.body.slice(0, -1) };
    b = { ...b, body: b.body.slice(0, -1) };
  }
  const na = a.mods.length;
  const nb = b.mods.length;
  const members = align(a.init, b.init, (x, y) => (memberOf(x) === memberOf(y) ? joinInit(x, y, na, nb) : null));
  if (members.length === 0) return null;
  // A member both sides have in different forms (another child class, another buffer) is not optional.
  const namesA = new Set(a.init.filter((_, i) => !members.some((p) => p.i === i)).map(memberOf));
  if (b.init.some((l, j) => !members.some((p) => p.j === j) && namesA.has(memberOf(l)))) return null;
  const present = new Map<string, boolean[]>();
  const pairedB = new Set(members.map((p) => p.j));
  for (const l of a.init) present.set(memberOf(l)!, [...a.present.get(memberOf(l)!)!, ...new Array<boolean>(nb).fill(false)]);
  for (const l of b.init) {
    const x = memberOf(l)!;
    present.set(x, [...(present.get(x)?.slice(0, na) ?? new Array<boolean>(na).fill(false)), ...b.present.get(x)!]);
  }
  const partial = new Set([...present].filter(([, v]) => v.some((p) => !p)).map(([k]) => k));
  const optA = new Set([...dependents(a.body, partial), ...extra]);
  const optB = dependents(b.body, partial);
  const optional = (l: Line, vars: Set<string>) => {
    const r = refs(l);
    return r.members.some((m) => partial.has(m)) || r.targets.some((t) => vars.has(t));
  };
  // Statements pair when equal but for slots and the values a guard stands for.
  const subA = new Map(a.elses);
  const subB = new Map(b.elses);
  const pairs = align(a.body, b.body, (x, y) => {
    if (x.indent !== y.indent || x.toks.length !== y.toks.length) return null;
    const toks: Tok[] = [];
    const sa: [string, string][] = [];
    const sb: [string, string][] = [];
    for (let k = 0; k < x.toks.length; k++) {
      const s = x.toks[k]!;
      const t = y.toks[k]!;
      if (isSlot(s) && isSlot(t)) toks.push({ slot: [...s.slot, ...t.slot] });
      else if (s === t) toks.push(s);
      else if (typeof s !== 'string' || typeof t !== 'string') return null;
      else if (optA.has(s) && !optB.has(t)) {
        sa.push([s, t]);
        toks.push(s);
      } else if (optB.has(t) && !optA.has(s)) {
        sb.push([t, s]);
        toks.push(t);
      } else return null;
    }
    return { line: { indent: x.indent, toks }, sa, sb };
  });
  const unpaired = a.body.length + b.body.length - 2 * pairs.length;
  if (pairs.length < unpaired) return null;
  for (const { r } of pairs) {
    for (const [v, u] of r.sa) if ((subA.get(v) ?? u) !== u) return null; else subA.set(v, u);
    for (const [v, u] of r.sb) if ((subB.get(v) ?? u) !== u) return null; else subB.set(v, u);
  }
  // Lines one side lacks: the optional ones, their slots filled for the other side's instances.
  const fillA = filler(members.map((p) => p.r), na, nb, 'a');
  const fillB = filler(members.map((p) => p.r), na, nb, 'b');
  const onlyA = (l: Line): Line => ({ indent: l.indent, toks: l.toks.map((t) => (isSlot(t) ? { slot: [...t.slot, ...fillA(t.slot)] } : t)) });
  const onlyB = (l: Line): Line => ({ indent: l.indent, toks: l.toks.map((t) => (isSlot(t) ? { slot: [...fillB(t.slot), ...t.slot] } : t)) });
  const init: Line[] = [];
  let j = 0;
  a.init.forEach((l, i) => {
    const p = members.find((q) => q.i === i);
    if (p) {
      while (j < p.j) if (!pairedB.has(j)) init.push(onlyB(b.init[j++]!)); else j++;
      init.push(p.r);
      j = p.j + 1;
    } else init.push(onlyA(l));
  });
  for (; j < b.init.length; j++) if (!pairedB.has(j)) init.push(onlyB(b.init[j]!));
  const body: Line[] = [];
  let ia = 0;
  let ib = 0;
  for (const p of [...pairs, { i: a.body.length, j: b.body.length, r: null }]) {
    for (; ia < p.i; ia++) if (optional(a.body[ia]!, optA)) body.push(onlyA(a.body[ia]!)); else return null;
    for (; ib < p.j; ib++) if (optional(b.body[ib]!, optB)) body.push(onlyB(b.body[ib]!)); else return null;
    if (p.r) body.push(p.r.line);
    ia = p.i + 1;
    ib = p.j + 1;
  }
  const elses = new Map([...subA, ...subB]);
  for (const [v, u] of subB) if (subA.has(v) && subA.get(v) !== u) return null;
  const defaults = new Map<string, string>();
  for (const x of extra) {
    if (!subA.has(x)) return null;
    defaults.set(x, subA.get(x)!);
    elses.delete(x);
  }
  if (ret) {
    for (const v of ret.names) {
      if (rb!.includes(v) || !optA.has(v) || elses.has(v)) continue;
      const u = passedThrough(a.body, v, optA);
      if (!u) return null;
      elses.set(v, u);
    }
    body.push(ret.line);
  }
  const outs = [...a.outs, ...b.outs.map((o) => (ret ? o.map((k) => ret.at[k]!) : o))];
  const merged: Cand = { mods: [...a.mods, ...b.mods], init, sig: a.sig, body, present, elses, defaults, outs };
  merged.rendered = render(merged) ?? undefined;
  return merged.rendered ? merged : null;
}

/**
 * Values of a one-sided slot for the other side's instances: those of a slot both sides have whose values agree with
 * it on this side (the shortcut conv's in_channels follow conv1's), else this side's first value.
 */
function filler(shared: Line[], na: number, nb: number, side: 'a' | 'b'): (vals: string[]) => string[] {
  const both = shared.flatMap((l) => l.toks.filter(isSlot).map((t) => t.slot));
  return (vals) => {
    const mine = (s: string[]) => (side === 'a' ? s.slice(0, na) : s.slice(na));
    const match = both.find((s) => mine(s).join() === vals.join());
    const other = match ? (side === 'a' ? match.slice(na) : match.slice(0, na)) : null;
    return other ?? new Array<string>(side === 'a' ? nb : na).fill(vals[0]!);
  };
}

/** The merged body's text; null when a guarded statement's result is read where its guard may have skipped it. */
function render(c: Cand): MergedBody | null {
  const values: string[][] = c.mods.map(() => []);
  const at: MergedBody['at'] = [];
  const flags: MergedBody['flags'] = [];
  const flagOf = (member: string) => {
    const p = c.present.get(member)!;
    let k = flags.findIndex((f) => f.present.join() === p.join());
    if (k < 0) k = flags.push({ members: [], present: p }) - 1;
    if (!flags[k]!.members.includes(member)) flags[k]!.members.push(member);
    return k;
  };
  const partial = (m: string) => c.present.get(m)?.some((p) => !p) ?? false;
  const out: string[] = [];
  const text = (l: Line, indent: number, init: boolean) => {
    let s = ' '.repeat(indent);
    for (const t of l.toks) {
      if (isSlot(t)) {
        at.push({ line: '', index: 0, init });
        t.slot.forEach((v, i) => values[i]!.push(v));
        s += `\u0000${at.length - 1}\u0000`;
      } else s += t;
    }
    return s;
  };
  out.push('def __init__(self):', '    super().__init__()');
  for (let i = 0; i < c.init.length; i++) {
    const x = memberOf(c.init[i]!)!;
    if (!partial(x)) {
      out.push(text(c.init[i]!, 4, true));
      continue;
    }
    const k = flagOf(x);
    const group: string[] = [];
    out.push(`    if \u0001${k}\u0001:`);
    for (; i < c.init.length && partial(memberOf(c.init[i]!)!) && flagOf(memberOf(c.init[i]!)!) === k; i++) {
      out.push(text(c.init[i]!, 8, true));
      group.push(memberOf(c.init[i]!)!);
    }
    i--;
    out.push('    else:', ...group.map((g) => `        self.${g} = None`));
  }
  if (c.init.length === 0) out.push('    pass');
  const args = argsOf(c.sig).map((x) => (c.defaults.has(x) ? `${x}=None` : x));
  out.push('', `def construct(self${args.map((x) => `, ${x}`).join('')}):`);
  for (const [x, u] of c.defaults) out.push(`    if ${x} is None:`, `        ${x} = ${u}`);
  // Which guard each statement needs: the partial members it depends on, all with one presence.
  const guardOf = new Map<string, number>();
  for (let i = 0; i < c.body.length; i++) {
    const need = (l: Line) => {
      const r = refs(l);
      const ks = new Set([...r.members.filter(partial).map(flagOf), ...r.names.filter((n) => guardOf.has(n)).map((n) => guardOf.get(n)!)]);
      return ks.size > 1 ? -2 : ks.size ? [...ks][0]! : -1;
    };
    const k = need(c.body[i]!);
    if (k === -2) return null;
    if (k === -1) {
      out.push(text(c.body[i]!, c.body[i]!.indent, false));
      continue;
    }
    if (c.body[i]!.indent !== 4 || !refs(c.body[i]!).targets.length) return null;
    const member = flags[k]!.members.find((m) => c.init.some((l) => memberOf(l) === m))!;
    out.push(`    if self.${member} is not None:`);
    const targets: string[] = [];
    for (; i < c.body.length && c.body[i]!.indent === 4 && refs(c.body[i]!).targets.length && need(c.body[i]!) === k; i++) {
      out.push(text(c.body[i]!, 8, false));
      for (const t of refs(c.body[i]!).targets) {
        // A value with an `else` is defined after the block either way.
        if (!c.elses.has(t)) guardOf.set(t, k);
        targets.push(t);
      }
    }
    i--;
    const elses = targets.filter((t) => c.elses.has(t));
    if (elses.length) out.push('    else:', ...elses.map((t) => `        ${t} = ${c.elses.get(t)}`));
  }
  // Each slot's line and offset, as parametrise names it (the line as the first instance writes it).
  const result = out.join('\n');
  const lines = result.split('\n');
  let slot = 0;
  for (const l of lines) {
    let plain = '';
    let last = 0;
    for (const m of l.matchAll(/\u0000(\d+)\u0000/g)) {
      plain += l.slice(last, m.index);
      at[slot]!.index = plain.length;
      plain += values[0]![Number(m[1])]!;
      last = m.index! + m[0].length;
      slot++;
    }
    plain += l.slice(last);
    for (let k = slot - [...l.matchAll(/\u0000\d+\u0000/g)].length; k < slot; k++) at[k]!.line = plain;
  }
  return { text: result, values, at, flags };
}
