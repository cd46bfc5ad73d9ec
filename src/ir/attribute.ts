import type { Graph } from './graph.js';
import type { Tensor } from './tensor.js';
import type { ValueType } from './shape.js';

/** Integers are numbers when exactly representable, bigint otherwise (e.g. INT64_MAX sentinels). */
export type Int = number | bigint;

export interface SparseTensor {
  values: Tensor;
  indices: Tensor;
  dims: number[];
}

export type Attribute = (
  | { type: 'float'; value: number }
  | { type: 'int'; value: Int }
  | { type: 'string'; value: string; raw?: Uint8Array }
  | { type: 'tensor'; value: Tensor }
  | { type: 'graph'; value: Graph }
  | { type: 'sparse_tensor'; value: SparseTensor }
  | { type: 'type_proto'; value: ValueType | null }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: Int[] }
  | { type: 'strings'; value: string[]; raw?: Uint8Array[] }
  | { type: 'tensors'; value: Tensor[] }
  | { type: 'graphs'; value: Graph[] }
  | { type: 'sparse_tensors'; value: SparseTensor[] }
  | { type: 'type_protos'; value: (ValueType | null)[] }
) & { docString?: string };

export type AttributeType = Attribute['type'];

/** Subgraphs held by an attribute (If branches, Loop/Scan bodies). */
/** Shared by every attribute without subgraphs (frozen, so that no caller can add to it). */
export const NO_GRAPHS = Object.freeze([]) as unknown as Graph[];

export function attributeGraphs(a: Attribute): Graph[] {
  if (a.type === 'graph') return [a.value];
  if (a.type === 'graphs') return a.value;
  return NO_GRAPHS;
}
