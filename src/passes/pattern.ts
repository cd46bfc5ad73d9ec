/**
 * The pattern layer the fusions are written in. A pattern is data: an op (or several), its operands (patterns,
 * variables that must name one value wherever they recur, constant predicates, `any`, alternatives), and whether it
 * may have readers outside the match. Add and Mul commute. Matching walks producers from a root and never edits the
 * graph; a rule's `check` returns the reason a structural match is still refused, and only its `rewrite` edits.
 * Every rule reports its near misses one way: each node of its `anchor` op left unfused gets the reason of the
 * attempt that got furthest through it (or the first step out of it that leaves the form).
 */
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import type { Dim } from '../ir/shape.js';
import { fromTensor, num } from '../ir/array.js';
import type { KnownValue } from '../dialect/ops/types.js';
import type { DialectOp } from '../dialect/op-names.js';
import type { Attribute } from '../ir/attribute.js';
import type { Model } from '../ir/model.js';
import type { NearMiss, Pass, PassContext } from './pass.js';
import { result } from './pass.js';
import { constantsOf, replaceWithNode, scopedName } from './util.js';
import { inferShapes } from '../dialect/ops/infer.js';

const inferShapesKnown = (model: Model, ctx?: PassContext) => {
  const known = (ctx?.inference?.get() ?? inferShapes(model)).known;
  return (v: Value) => known.get(v);
};

export type ConstOf = (v: Value | null | undefined) => Tensor | null;
export interface Pat { kind: 'op'; ops: readonly string[]; in: Operand[]; as?: string; shared?: boolean; where?: (n: Node, m: Match) => string | null }
type Leaf = { kind: 'var'; name: string } | { kind: 'any' } | { kind: 'const'; as?: string; value?: number; scalar: boolean } | { kind: 'alt'; of: Operand[] };
/** A string operand is a variable. */
export type Operand = Pat | Leaf | string | null;

export interface Match {
  root: Node;
  nodes: Node[];
  /** Variables and `as` names: values. */
  v: Record<string, Value>;
  /** `as` names: nodes. */
  n: Record<string, Node>;
  /** Named constants: their scalar value (or NaN for a tensor) and tensor. */
  c: Record<string, number>;
  t: Record<string, Tensor>;
}

export interface RuleContext { g: Graph; constOf: ConstOf; known?: (v: Value) => KnownValue | undefined }

export interface Rule {
  /** The count this rule's fusions are reported under. */
  name: string;
  /** The form's name in near-miss reasons. */
  label: string;
  /** Alternatives, each rooted at the node whose output the fusion replaces. */
  pattern: Pat | Pat[];
  /** Op whose unfused nodes are near misses (none: the rule reports none), narrowed by `anchorIf`. */
  anchor?: DialectOp;
  anchorIf?: (n: Node, cx: RuleContext) => boolean;
  /** Why a structural match is refused, or null. */
  check?: (m: Match, cx: RuleContext) => string | null;
  rewrite: (m: Match, cx: RuleContext) => void;
  /** Matched values may be read outside the match (the rule removes only what it can). */
  open?: boolean;
  /** The rule extends an op another rule fused (a weight folded in): counted under its name, not as a fusion. */
  refines?: boolean;
}

const COMMUTE = new Set(['mint.add', 'mint.mul']);

export function op(ops: DialectOp | readonly DialectOp[], ...inputs: Operand[]): Pat {
  return { kind: 'op', ops: typeof ops === 'string' ? [ops] : ops, in: inputs };
}
/** The same pattern, named (`m.n[name]`, `m.v[name]`), allowed other readers, or with a node condition. */
export const named = (p: Pat, as: string): Pat => ({ ...p, as });
export const shared = (p: Pat): Pat => ({ ...p, shared: true });
export const where = (p: Pat, fn: (n: Node, m: Match) => string | null): Pat => ({ ...p, where: fn });
export const any: Leaf = { kind: 'any' };
/** An input that may be absent. */
export const rest: Leaf = { kind: 'alt', of: [{ kind: 'any' }, null] };
/** A scalar constant near `value`, or any scalar constant bound to `as`. */
export const k = (value: number): Leaf => ({ kind: 'const', value, scalar: true });
export const scalar = (as: string): Leaf => ({ kind: 'const', as, scalar: true });
/** Any constant tensor, bound to `as`. */
export const tensor = (as: string): Leaf => ({ kind: 'const', as, scalar: false });
export const oneOf = (...of: Operand[]): Leaf => ({ kind: 'alt', of });
/** `p` itself, or `wrap(p)`: an optional step. */
export const opt = (p: Operand, wrap: (p: Operand) => Pat): Leaf => oneOf(wrap(p), p);

/** The number a scalar constant holds, or null. */
export function constScalar(constOf: ConstOf, v: Value | null | undefined): number | null {
  const t = constOf(v);
  return t && t.size === 1 && !t.isString ? num(fromTensor(t))[0]! : null;
}
/** A value's shape when it is a tensor of known rank. */
export const shapeOf = (v: Value | null | undefined): Dim[] | null => (v?.type?.kind === 'tensor' ? v.type.shape : null);
/** An integer-list attribute (`perm`, `pads`, `axes`), or null. */
export const ints = (n: Node | null | undefined, name: string): number[] | null => {
  const a = n?.attrs.get(name);
  return a?.type === 'ints' ? a.value.map(Number) : null;
};
export const near = (a: number | null | undefined, b: number, tol = 1e-4): boolean => a != null && Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));
const short = (o: string) => o.replace(/^(mint\.nn\.functional\.|mint\.|msgraph\.|ops\.)/, '');
const what = (v: Value) => (v.producer ? `${short(v.producer.op)} ${v.name}` : `${v.name}`);
const nodeName = (n: Node) => (n.name ? `${short(n.op)} ${n.name}` : short(n.op));

/** The state of one attempt: the deepest failure so far. */
interface Attempt { cx: RuleContext; depth: number; reason: string; nodes: Node[]; rule?: Rule }

function fail(a: Attempt, m: Match, reason: string): void {
  if (m.nodes.length >= a.depth) Object.assign(a, { depth: m.nodes.length, reason, nodes: m.nodes });
}

function* matchOperand(o: Operand, v: Value | null | undefined, m: Match, a: Attempt, parent: Node | null): Generator<Match> {
  if (o === null) {
    if (v) fail(a, m, `${short(parent!.op)} has an input it should not have (${v.name})`);
    else yield m;
    return;
  }
  if (typeof o === 'string') o = { kind: 'var', name: o };
  if (o.kind === 'alt') {
    for (const alt of o.of) yield* matchOperand(alt, v, m, a, parent);
    return;
  }
  if (!v) return fail(a, m, `${parent ? short(parent.op) : 'the root'} lacks an input`);
  if (o.kind === 'any') yield m;
  else if (o.kind === 'var') {
    const bound = m.v[o.name];
    if (!bound) yield { ...m, v: { ...m.v, [o.name]: v } };
    else if (bound === v) yield m;
    else fail(a, m, `${short(parent!.op)} reads ${v.name} where the form repeats ${bound.name}`);
  } else if (o.kind === 'const') {
    const t = a.cx.constOf(v);
    const x = constScalar(a.cx.constOf, v);
    if (!t || (o.scalar && x === null)) fail(a, m, `${short(parent!.op)} reads ${what(v)}, not a constant${o.scalar ? ' scalar' : ''}`);
    else if (o.value !== undefined && !near(x, o.value)) fail(a, m, `${v.name} is ${x}, not ${o.value}`);
    else yield o.as ? { ...m, c: { ...m.c, [o.as]: x ?? NaN }, t: { ...m.t, [o.as]: t }, v: { ...m.v, [o.as]: v } } : m;
  } else yield* matchNode(o, v, m, a, parent);
}

function* matchNode(p: Pat, v: Value, m: Match, a: Attempt, parent: Node | null): Generator<Match> {
  const n = v.producer;
  if (p.as && m.v[p.as]) {
    if (m.v[p.as] === v) yield m;
    else fail(a, m, `${v.name} is not ${m.v[p.as]!.name}`);
    return;
  }
  if (!n || !p.ops.includes(n.op)) return fail(a, m, `${parent ? `${short(parent.op)} reads ${what(v)}` : `${what(v)}`}, not ${p.ops.map(short).join(' or ')}`);
  const next: Match = { ...m, nodes: m.nodes.includes(n) ? m.nodes : [...m.nodes, n], ...(p.as ? { v: { ...m.v, [p.as]: v }, n: { ...m.n, [p.as]: n } } : {}) };
  const out = a.cx.g.outputs.includes(v);
  if (parent && !p.shared && (out || v.uses.some((u) => u.node !== parent))) return fail(a, next, `${what(v)} has other readers${out ? ' (a graph output)' : ''}`);
  if (n.inputs.length > p.in.length && n.inputs.slice(p.in.length).some(Boolean)) return fail(a, next, `${short(n.op)} ${n.name} has more inputs than the form`);
  const orders = p.in.length === 2 && COMMUTE.has(n.op) ? [[0, 1], [1, 0]] : [p.in.map((_, i) => i)];
  for (const order of orders) {
    for (const done of inputs(p, n, order, 0, next, a)) {
      const reason = p.where?.(n, done) ?? null;
      if (reason) fail(a, done, reason);
      else yield done;
    }
  }
}

function* inputs(p: Pat, n: Node, order: number[], i: number, m: Match, a: Attempt): Generator<Match> {
  if (i === order.length) return yield m;
  for (const next of matchOperand(p.in[i]!, n.inputs[order[i]!], m, a, n)) yield* inputs(p, n, order, i + 1, next, a);
}

/** Matches of `p` rooted at `root` (its first output), lazily. */
export function* matches(p: Pat, root: Node, cx: RuleContext, attempt?: Attempt): Generator<Match> {
  const a = attempt ?? { cx, depth: -1, reason: '', nodes: [] };
  if (!root.outputs[0]) return;
  yield* matchNode(p, root.outputs[0], { root, nodes: [], v: {}, n: {}, c: {}, t: {} }, a, null);
}

/** Values the match computes that something outside it reads (the root's output excepted). */
function leaks(m: Match, g: Graph): string | null {
  const inside = new Set(m.nodes);
  for (const n of m.nodes) {
    for (const o of n.outputs) {
      if (!o || o === m.root.outputs[0]) continue;
      if (g.outputs.includes(o)) return `${what(o)} is also a graph output`;
      if (o.uses.some((u) => !inside.has(u.node))) return `${what(o)} is also read outside the form`;
    }
  }
  return null;
}

export interface RuleReport { fused: number; counts: Record<string, number>; nearMisses: NearMiss[] }

/**
 * Tries every rule at every node of `g` in order (a node a rewrite removed is skipped); the first match a rule's
 * check accepts is rewritten. Then the near misses: every anchor node still in the graph.
 */
export function applyRules(g: Graph, constOf: ConstOf, rules: readonly Rule[], known?: RuleContext['known']): RuleReport {
  const cx: RuleContext = { g, constOf, known };
  const report: RuleReport = { fused: 0, counts: Object.fromEntries(rules.map((r) => [r.name, 0])), nearMisses: [] };
  // Per rule, the attempt that got furthest through each node it reached (for near misses, read once per anchor).
  const best = new Map<Rule, Map<Node, Attempt>>(rules.map((r) => [r, new Map()]));
  const patterns = new Map<Rule, readonly Pat[]>(rules.map((r) => [r, [r.pattern].flat()]));
  for (const node of [...g]) {
    for (const rule of rules) {
      if (node.graph !== g) break;
      for (const p of patterns.get(rule)!) {
        if (!p.ops.includes(node.op) || node.graph !== g) continue;
        const a: Attempt = { cx, depth: -1, reason: '', nodes: [], rule };
        for (const m of matches(p, node, cx, a)) {
          const reason = (rule.open ? null : leaks(m, g)) ?? rule.check?.(m, cx) ?? null;
          if (reason) {
            Object.assign(a, { depth: Infinity, reason, nodes: m.nodes });
            continue;
          }
          rule.rewrite(m, cx);
          report.counts[rule.name]!++;
          if (!rule.refines) report.fused++;
          break;
        }
        if (a.depth >= 0) {
          const byNode = best.get(rule)!;
          for (const n of a.nodes) {
            const cur = byNode.get(n);
            if (!cur || cur.depth < a.depth) byNode.set(n, a);
          }
        }
      }
    }
  }
  for (const n of g) {
    for (const rule of rules) {
      if (n.op !== rule.anchor || (rule.anchorIf && !rule.anchorIf(n, cx))) continue;
      const b = best.get(rule)!.get(n);
      report.nearMisses.push({ node: n.name, reason: `${rule.label}: ${b?.reason ?? outOf(n, rule, g)}` });
    }
  }
  return report;
}

/**
 * Why an anchor no attempt reached is outside the form: its output read up the form's path from the anchor to the
 * root, to the first step that leaves it (the path that gets furthest).
 */
function outOf(n: Node, rule: Rule, g: Graph): string {
  const paths: Pat[][] = [];
  const visit = (p: Operand, up: Pat[]): void => {
    if (p && typeof p === 'object' && p.kind === 'op') {
      if (p.ops.includes(n.op) && up.length) paths.push(up);
      p.in.forEach((i) => visit(i, [p, ...up]));
    } else if (p && typeof p === 'object' && p.kind === 'alt') p.of.forEach((i) => visit(i, up));
  };
  [rule.pattern].flat().forEach((p) => visit(p, []));
  // The furthest any path gets; where paths stop at one reader, the ops they expected there, together.
  let best = { steps: -1, head: `${nodeName(n)} is not inside the form`, expected: new Set<string>() };
  for (const path of paths) {
    let cur = n;
    let steps = 0;
    let head = '';
    for (const p of path) {
      const o = cur.outputs[0]!;
      const readers = o.uses.map((u) => u.node);
      if (g.outputs.includes(o) && !p.shared) head = `${what(o)} is a graph output`;
      else if (readers.length !== 1 && !p.shared) head = `${what(o)} has ${readers.length} readers (${readers.map(nodeName).join(', ') || 'none'})`;
      else if (!readers.some((r) => p.ops.includes(r.op))) head = `${what(o)} is read by ${readers.map(nodeName).join(', ')}`;
      if (head) {
        if (steps > best.steps) best = { steps, head, expected: new Set() };
        if (steps === best.steps && head === best.head && head.includes(' is read by ')) p.ops.forEach((x) => best.expected.add(short(x)));
        break;
      }
      cur = readers.find((r) => p.ops.includes(r.op))!;
      steps++;
    }
    if (!head && steps > best.steps) best = { steps, head: `${nodeName(cur)} does not match the form`, expected: new Set() };
  }
  return best.expected.size ? `${best.head}, not ${[...best.expected].join(' or ')}` : best.head;
}

/** Replaces the match by one node on `inputs`, named like `source` (the root by default), keeping its scope metadata. */
export function fuse(m: Match, cx: RuleContext, spec: { op: DialectOp; inputs: (Value | null)[]; attrs?: [string, Attribute][]; leaf: string; name?: string; source?: Node; also?: Node[] }): Node {
  const source = spec.source ?? m.root;
  return replaceWithNode(cx.g, { op: spec.op, name: spec.name ?? scopedName(source, spec.leaf), inputs: spec.inputs, attrs: spec.attrs ?? [] }, m.root.outputs[0]!, m.root, [...m.nodes, ...(spec.also ?? [])], source);
}

/** A pass that applies `rules` and reports their counts and near misses. */
export function rulePass(name: string, description: string, rules: readonly Rule[], opts: { known?: boolean } = {}): Pass {
  return {
    name,
    description,
    run(model: Model, ctx: PassContext) {
      const known = opts.known ? inferShapesKnown(model, ctx) : undefined;
      const r = applyRules(model.graph, constantsOf(model), rules, known);
      return { ...result(r.counts), nearMisses: r.nearMisses };
    },
  };
}
