/**
 * What op emitters work with: the OpCtx that renders operands and checks API calls, NoMapping, and the small
 * Python-text helpers shared by the emitter files.
 */
import { MsgraphError } from '../../errors.js';
import type { Node } from '../../ir/node.js';
import type { Dim } from '../../ir/shape.js';
export { compact } from './layers.js';

export class NoMapping extends Error {}

export interface OpCtx {
  readonly node: Node;
  /** ONNX op name. */
  readonly op: string;
  /** Tensor expression of input i (host values and constants converted). */
  t(i: number): string;
  /** Tensor expression as an operand of a Python operator (parenthesised when needed). */
  opnd(i: number): string;
  /** A Python scalar literal when input i is a one-element constant, else null. */
  scalar(i: number): string | null;
  /** Host expression (Python int / tuple of ints) of input i. */
  host(i: number): string;
  /** Known numeric values of input i (constant or static shape arithmetic), else null. */
  ints(i: number): number[] | null;
  /** True when input i is a shape whose elements are known never to be a literal 0. */
  noZeroDims(i: number): boolean;
  has(i: number): boolean;
  /** Whether input i is a weight kept as torch's [out, in] though the graph multiplies by [in, out]. */
  transposedWeight(i: number): boolean;
  rank(i: number): number | null;
  shape(i: number): Dim[] | null;
  dtype(i: number): string | null;
  outDtype(i: number): string | null;
  outRank(i: number): number | null;
  attrInt(k: string, d: number): number;
  attrFloat(k: string, d: number): number;
  attrInts(k: string): number[] | undefined;
  attrStr(k: string, d: string): string;
  /** `api(args...)`, checked against the target version (keyword args as `name=value`). */
  call(api: string, ...args: (string | null | undefined)[]): string;
  /** Whether the target version has `api`. */
  apiHas(api: string): boolean;
  /** Declares that the expression yields a tuple of `count` values (multi-output ops). */
  multi(count: number): void;
  /** Registers a module-level helper and returns its name. */
  helper(name: string): string;
  /** The IR dtype name of an ONNX TensorProto data type code. */
  dtypeOfOnnx(code: number): string | null;
  /** `ms.<dtype>` for an IR dtype name. */
  msType(dtype: string): string;
}

export type OpEmitter = (c: OpCtx) => string;

export const INT_MAX = 2 ** 62;
export const isInt = (d: string | null) => d !== null && /int|uint/.test(d) && !d.startsWith('float');
export const wrap = (s: string) => (/^[\w.]+(\[[^\]]*\])?$|^-?\d+(\.\d+)?(e-?\d+)?$/.test(s) ? s : `(${s})`);
export const tuple = (xs: (string | number)[]) => (xs.length === 1 ? `(${xs[0]},)` : `(${xs.join(', ')})`);
/** An axis in [0, rank); one outside [-rank, rank) is the model's error. */
export function norm(a: number, r: number): number {
  if (!(a >= -r && a < r)) throw new MsgraphError('model', `axis ${a} is out of range for rank ${r}`);
  return a < 0 ? a + r : a;
}

export function axesOf(c: OpCtx, i: number): number[] | null {
  return c.attrInts('axes') ?? (c.has(i) ? c.ints(i) : null);
}

/** Builders for the simple emitters. */
export function binary(sym: string, api: string): OpEmitter {
  return (c) => {
    const a = c.scalar(0);
    const b = c.scalar(1);
    if (a !== null && b !== null) return c.call(api, c.t(0), c.t(1));
    return `${a ?? c.opnd(0)} ${sym} ${b ?? c.opnd(1)}`;
  };
}

export function fn(api: string): OpEmitter {
  return (c) => c.call(api, c.t(0));
}

export function cmp(api: string): OpEmitter {
  return (c) => c.call(api, c.t(0), c.scalar(1) ?? c.t(1));
}

export function variadic(api: string): OpEmitter {
  return (c) => {
    let e = c.t(0);
    for (let i = 1; i < c.node.inputs.length; i++) if (c.has(i)) e = c.call(api, e, c.t(i));
    return e;
  };
}
