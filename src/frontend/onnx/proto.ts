/**
 * Plain objects mirroring onnx.proto (IR versions 3..11). Byte fields are views into the file buffer.
 * Field numbers live in decode.ts / encode.ts next to the code that reads and writes them.
 */
import type { Chunk } from '../../ir/tensor.js';

export type Int64 = number | bigint;

export interface StringStringEntryP {
  key: string;
  value: string;
}

export interface OperatorSetIdP {
  domain: string;
  version: number;
}

export interface DimensionP {
  value?: number;
  param?: string;
  denotation?: string;
}

export type TypeP =
  | { kind: 'tensor'; elemType: number; shape: DimensionP[] | null; denotation?: string }
  | { kind: 'sparse_tensor'; elemType: number; shape: DimensionP[] | null; denotation?: string }
  | { kind: 'sequence'; elem: TypeP | null; denotation?: string }
  | { kind: 'map'; keyType: number; value: TypeP | null; denotation?: string }
  | { kind: 'optional'; elem: TypeP | null; denotation?: string }
  | { kind: 'none'; denotation?: string };

export interface ValueInfoP {
  name: string;
  type: TypeP | null;
  docString: string;
  metadata: StringStringEntryP[];
}

export interface TensorP {
  dims: number[];
  dataType: number;
  segment?: { begin: number; end: number };
  floatData: number[];
  int32Data: number[];
  stringData: Uint8Array[];
  int64Data: Int64[];
  name: string;
  docString: string;
  /** A view of the decoded file; when encoding, tensor data may also still be at its source. */
  rawData: Chunk | null;
  externalData: StringStringEntryP[];
  dataLocation: number;
  doubleData: number[];
  uint64Data: Int64[];
  metadata: StringStringEntryP[];
}

export interface SparseTensorP {
  values: TensorP | null;
  indices: TensorP | null;
  dims: number[];
}

export interface AttributeP {
  name: string;
  refAttrName: string;
  docString: string;
  type: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorP;
  g?: GraphP;
  sparseTensor?: SparseTensorP;
  tp?: TypeP;
  floats: number[];
  ints: Int64[];
  strings: Uint8Array[];
  tensors: TensorP[];
  graphs: GraphP[];
  sparseTensors: SparseTensorP[];
  typeProtos: TypeP[];
}

export interface NodeP {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  domain: string;
  overload: string;
  attribute: AttributeP[];
  docString: string;
  metadata: StringStringEntryP[];
  /** DeviceConfiguration entries (IR 11), kept opaque. */
  deviceConfigurations: Uint8Array[];
}

export interface GraphP {
  node: NodeP[];
  name: string;
  initializer: TensorP[];
  sparseInitializer: SparseTensorP[];
  docString: string;
  input: ValueInfoP[];
  output: ValueInfoP[];
  valueInfo: ValueInfoP[];
  quantizationAnnotation: Uint8Array[];
  metadata: StringStringEntryP[];
}

export interface FunctionP {
  name: string;
  input: string[];
  output: string[];
  attribute: string[];
  attributeProto: AttributeP[];
  node: NodeP[];
  docString: string;
  opsetImport: OperatorSetIdP[];
  domain: string;
  overload: string;
  valueInfo: ValueInfoP[];
  metadata: StringStringEntryP[];
  /** The encoded message, for re-emitting functions that are kept. */
  bytes: Uint8Array;
}

export interface ModelP {
  irVersion: number;
  opsetImport: OperatorSetIdP[];
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  graph: GraphP | null;
  metadata: StringStringEntryP[];
  trainingInfo: Uint8Array[];
  functions: FunctionP[];
  /** Encoded FunctionProto bodies re-emitted as they are. */
  rawFunctions: Uint8Array[];
  configuration: Uint8Array[];
}

/** AttributeProto.AttributeType */
export const AttrType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;

export function emptyTensorP(): TensorP {
  return {
    dims: [], dataType: 0, floatData: [], int32Data: [], stringData: [], int64Data: [], name: '', docString: '',
    rawData: null, externalData: [], dataLocation: 0, doubleData: [], uint64Data: [], metadata: [],
  };
}

export function emptyAttributeP(): AttributeP {
  return {
    name: '', refAttrName: '', docString: '', type: 0, floats: [], ints: [], strings: [], tensors: [], graphs: [],
    sparseTensors: [], typeProtos: [],
  };
}

export function emptyNodeP(): NodeP {
  return {
    input: [], output: [], name: '', opType: '', domain: '', overload: '', attribute: [], docString: '', metadata: [],
    deviceConfigurations: [],
  };
}

export function emptyGraphP(): GraphP {
  return {
    node: [], name: '', initializer: [], sparseInitializer: [], docString: '', input: [], output: [], valueInfo: [],
    quantizationAnnotation: [], metadata: [],
  };
}

export function emptyModelP(): ModelP {
  return {
    irVersion: 0, opsetImport: [], producerName: '', producerVersion: '', domain: '', modelVersion: 0, docString: '',
    graph: null, metadata: [], trainingInfo: [], functions: [], rawFunctions: [], configuration: [],
  };
}
