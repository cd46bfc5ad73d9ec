/**
 * The module tree the emitter builds (one Mod per module path, with its items, layers and constant parameters) and
 * small helpers over values, constants and subgraphs.
 */
import type { Graph } from '../../ir/graph.js';
import type { Node } from '../../ir/node.js';
import type { Dim } from '../../ir/shape.js';
import { Tensor } from '../../ir/tensor.js';
import type { Value } from '../../ir/value.js';
import { dtypeFromName } from '../../ir/dtype.js';
import { fromTensor, num } from '../../ir/array.js';
import { pyFloat } from './python.js';
import type { Layer } from './layers.js';

export type Item =
  | { kind: 'node'; node: Node; index: number; mod: Mod }
  | { kind: 'layer'; layer: Layer; index: number; mod: Mod };

export interface Buffer {
  value: Value;
  tensor: Tensor;
  owner: Mod;
  attr: string;
  /** When the constant is a layer's parameter already (tied weights), the layer module and attribute. */
  alias?: { mod: Mod; attr: string };
  /**
   * `learned`: a float tensor under a state_dict name that feeds computation (a trainable Parameter); `buffer`: one
   * under a state_dict name read only by comparisons or as a size (a causal mask: a Parameter without gradient);
   * `computed`: a small constant the exporter made (a frequency table), written in the code, not a checkpoint key.
   */
  kind: 'learned' | 'buffer' | 'computed';
  /** A 2-D weight the export holds as [in, out]: the parameter is [out, in] as in torch, read by a functional linear. */
  transposed?: boolean;
}

export class Mod {
  readonly children = new Map<string, Mod>();
  items: Item[] = [];
  layer: Layer | null = null;
  buffers: Buffer[] = [];
  flat = false;
  attr = '';
  cellList = false;
  cls = '';
  /** Constructor arguments of this instance of its class (`in_channels=8`), when the class takes any. */
  clsArgs: string[] = [];
  classHint: string | undefined;
  /** Subtree items, sorted by index. */
  subtree: Item[] = [];
  inputs: Value[] = [];
  outputs: Value[] = [];
  /** When its class returns more than this instance uses: how many it returns, and where each of `outputs` is. */
  returns: { count: number; at: number[] } | null = null;
  constructor(readonly seg: string, readonly path: string[], readonly parent: Mod | null) {}
  /** A module with nothing of its own to hold (its work, if any, is written in its parent): no attribute, no class. */
  get vanishes(): boolean {
    return this.flat && !this.cellList && !this.layer && !this.buffers.length && [...this.children.values()].every((c) => c.vanishes);
  }
  get first(): number {
    return this.subtree[0]?.index ?? Infinity;
  }
}

export const PATH_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/;
export const NUMERIC = /^\d+$/;

export function dtypeName(v: Value | null | undefined): string | null {
  return v?.type?.kind === 'tensor' ? (v.type.dtype?.name ?? null) : null;
}
export function shapeOf(v: Value | null | undefined): Dim[] | null {
  return v?.type?.kind === 'tensor' ? v.type.shape : null;
}


export function unitIsDirect(u: { mod: Mod }, m: Mod): boolean {
  for (let cur: Mod | null = u.mod; cur && cur !== m; cur = cur.parent) if (!cur.flat && !cur.layer) return false;
  return true;
}

export function isWithin(a: Mod, m: Mod): boolean {
  for (let cur: Mod | null = a; cur; cur = cur.parent) if (cur === m) return true;
  return false;
}

export function fmtShape(s: Dim[] | null): string {
  return s ? `[${s.map((d) => (d === null ? '?' : String(d))).join(', ')}]` : '';
}

/** Python literals of a tensor's elements; 64-bit integers are read exactly. */
export function literals(t: Tensor): string[] {
  if (t.dtype.name === 'int64' || t.dtype.name === 'uint64') return Array.from(t.toArray() as BigInt64Array, (x) => String(x));
  const vals = Array.from(num(fromTensor(t)));
  return vals.map((x) => (t.dtype.kind === 'float' ? pyFloat(x) : t.dtype.kind === 'bool' ? (x ? 'True' : 'False') : String(x)));
}

/**
 * A small constant the exporter made, as code: a geometric sequence (a sinusoidal embedding's frequency table,
 * `10000 ** (-i / half)`) is computed with exp(arange * log(ratio)); anything else is written out.
 */
export function computedTensor(api: { call(name: string, ...args: string[]): string }, t: Tensor): string {
  const ms = t.dtype.ms ?? 'ms.float32';
  const vals = Array.from(num(fromTensor(t)));
  const n = vals.length;
  const reshape = t.dims.length === 1 ? '' : `.reshape(${t.dims.length === 0 ? '()' : `(${t.dims.join(', ')})`})`;
  const ratio = n >= 4 && vals.every((x) => x > 0) ? vals[1]! / vals[0]! : NaN;
  if (Number.isFinite(ratio) && ratio !== 1 && vals.every((x, i) => Math.abs(vals[0]! * ratio ** i - x) <= 1e-6 * Math.abs(x))) {
    const step = `${api.call('mint.arange', '0', String(n), `dtype=${ms}`)} * ${pyFloat(Math.log(ratio))}`;
    const scaled = vals[0] === 1 ? api.call('mint.exp', step) : `${pyFloat(vals[0]!)} * ${api.call('mint.exp', step)}`;
    return `${vals[0] === 1 ? scaled : `(${scaled})`}${reshape}`;
  }
  const lits = literals(t);
  return `ms.Tensor(${lits.length === 1 ? `(${lits[0]},)` : `(${lits.join(', ')})`}, ${ms})${reshape}`;
}

export function literalHost(t: Tensor): string {
  const vals = literals(t);
  if (t.dims.length === 0) return String(vals[0]);
  return vals.length === 1 ? `(${vals[0]},)` : `(${vals.join(', ')})`;
}

/** The tensor of a Constant node, whatever attribute holds it. */
export function constantTensor(n: Node): Tensor | null {
  const a = n.attrs.get('value');
  if (a?.type === 'tensor') return a.value;
  const f = n.attrs.get('value_float');
  if (f?.type === 'float') return Tensor.fromArray(dtypeFromName('float32')!, [], new Float32Array([Number(f.value)]));
  const fs = n.attrs.get('value_floats');
  if (fs?.type === 'floats') return Tensor.fromArray(dtypeFromName('float32')!, [fs.value.length], new Float32Array(fs.value.map(Number)));
  const i = n.attrs.get('value_int');
  if (i?.type === 'int') return Tensor.fromArray(dtypeFromName('int64')!, [], new BigInt64Array([BigInt(i.value)]));
  const is = n.attrs.get('value_ints');
  if (is?.type === 'ints') return Tensor.fromArray(dtypeFromName('int64')!, [is.value.length], new BigInt64Array(is.value.map((x) => BigInt(x))));
  return null;
}

/** Every input of every node in a subgraph (nested ones included). */
export function allInputs(g: Graph): Value[] {
  const out: Value[] = [];
  for (const n of g) {
    for (const v of n.inputs) if (v) out.push(v);
    for (const s of n.subgraphs()) out.push(...allInputs(s));
  }
  return out;
}

/** Values a subgraph reads from enclosing scopes. */
export function outerRefs(g: Graph): Value[] {
  const out: Value[] = [];
  const visit = (sg: Graph) => {
    for (const n of sg) {
      for (const v of n.inputs) if (v && v.graph !== sg && !isInside(v, g)) out.push(v);
      for (const s of n.subgraphs()) visit(s);
    }
  };
  visit(g);
  return out;
}

export function isInside(v: Value, g: Graph): boolean {
  for (let cur = v.graph; cur; cur = cur.parent?.graph ?? null) if (cur === g) return true;
  return false;
}
