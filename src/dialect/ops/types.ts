import type { Node } from '../../ir/node.js';
import type { DType } from '../../ir/dtype.js';
import type { Dim, Shape, ValueType } from '../../ir/shape.js';
import type { Graph } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';

/**
 * What an ONNX op becomes in MindSpore. Alternatives are in preference order; `since` is the first MindSpore version
 * that has the API(s), `when` says which form of the op the reference is for (e.g. 'rank-3 input').
 */
export type MintRef =
  | { api: string; since?: string; when?: string }
  | { decompose: string[]; note: string; since?: string; when?: string }
  /** A Python expression needing no API call (tensor attributes, literals). */
  | { expr: string; when?: string };

export interface OpDef {
  domain: string;
  op: string;
  /** Opset range this definition covers, inclusive. */
  since: number;
  until: number;
  mint: MintRef[];
  /** [min, max] inputs (max Infinity for variadic) and outputs. */
  inputs: [number, number];
  outputs: [number, number];
  infer: (ctx: InferCtx) => void;
}

/** Known values of small integer tensors (shape arithmetic): scalars have `scalar` set, 1-D tensors list elements. */
export interface KnownValue {
  scalar: boolean;
  elems: Dim[];
}

export interface TensorInfo {
  dtype: DType | null;
  shape: Shape | null;
}

export interface InferCtx {
  readonly node: Node;
  readonly opset: number;
  /** A mint dialect node: run-time operands sit at their newest-form positions. */
  readonly dialect: boolean;
  readonly inputCount: number;
  /** Tensor dtype/shape of input i; null when the input is absent. */
  input(i: number): TensorInfo | null;
  /** Like input() but throws a node-naming error when absent or of unknown rank. */
  need(i: number): { dtype: DType | null; shape: Shape };
  inputType(i: number): ValueType | null;
  /** Known element values of input i (constants and propagated shape arithmetic). */
  value(i: number): KnownValue | null;
  /** The constant tensor behind input i, when it is one. */
  constant(i: number): Tensor | null;
  attrInt(name: string, dflt: number): number;
  attrInt(name: string): number | undefined;
  attrInts(name: string): number[] | undefined;
  attrFloat(name: string, dflt: number): number;
  attrString(name: string, dflt: string): string;
  hasAttr(name: string): boolean;
  attrTensor(name: string): Tensor | undefined;
  setOutput(i: number, dtype: DType | null, shape: Shape | null, value?: KnownValue): void;
  setOutputType(i: number, t: ValueType | null): void;
  /** A fresh symbolic dim for data-dependent sizes. */
  fresh(hint: string): string;
  /** Infers a subgraph given the types of its formal inputs; returns the types of its outputs. */
  subgraph(g: Graph, inputs: (ValueType | null)[]): (ValueType | null)[];
  /** Marks a subgraph that never runs (an If branch whose condition is known). */
  dead(g: Graph): void;
  /** Gives up on this node without blaming the model: a value needed at compile time is not known. */
  unknown(message: string): never;
  fail(message: string): never;
}
