import { WIRE_LEN, Writer, type Chunk } from './protobuf.js';
import type {
  AttributeP, DimensionP, FunctionP, GraphP, ModelP, NodeP, OperatorSetIdP, SparseTensorP, StringStringEntryP,
  TensorP, TypeP, ValueInfoP,
} from './proto.js';

/**
 * The graph-first layout: the model's `graph` field comes first in the file, its length written in `lengthWidth`
 * bytes (more when it needs more; padded when it needs fewer, which protobuf readers accept), and the graph's first
 * `leading` initializers come before its nodes. Protobuf readers take fields in any order, so the model is the same;
 * what it buys is that those initializers lie at offsets known before the rest of the model is: a writer can put
 * them into the file while the model is still being compiled.
 */
export interface GraphFirst {
  leading: number;
  lengthWidth: number;
}

/**
 * Encodes a ModelProto; returns the chunks (tensor payloads are not copied). With `graphFirst`, the first chunk is
 * the graph field's tag and length, and nothing else.
 */
export function encodeModelChunks(m: ModelP, graphFirst?: GraphFirst): Chunk[] {
  if (!graphFirst || !m.graph) return modelWriter(m).finish();
  const graph = graphW(m.graph, graphFirst.leading);
  const head = new Writer();
  head.tag(7, WIRE_LEN);
  head.paddedVarint(graph.length, graphFirst.lengthWidth);
  return [head.concat(), ...graph.finish(), ...modelWriter({ ...m, graph: null }).finish()];
}

export function encodeModel(m: ModelP): Uint8Array {
  return modelWriter(m).concat();
}

function modelWriter(m: ModelP): Writer {
  const w = new Writer();
  if (m.irVersion) w.int64(1, m.irVersion);
  for (const o of m.opsetImport) w.message(8, opsetW(o));
  if (m.producerName) w.string(2, m.producerName);
  if (m.producerVersion) w.string(3, m.producerVersion);
  if (m.domain) w.string(4, m.domain);
  if (m.modelVersion) w.int64(5, m.modelVersion);
  if (m.docString) w.string(6, m.docString);
  if (m.graph) w.message(7, graphW(m.graph));
  for (const e of m.metadata) w.message(14, entryW(e));
  for (const t of m.trainingInfo) w.raw(t);
  for (const f of m.functions) w.message(25, functionW(f));
  for (const b of m.rawFunctions) w.bytes(25, b);
  for (const c of m.configuration) w.raw(c);
  return w;
}

function opsetW(o: OperatorSetIdP): Writer {
  const w = new Writer();
  if (o.domain) w.string(1, o.domain);
  w.int64(2, o.version);
  return w;
}

function entryW(e: StringStringEntryP): Writer {
  const w = new Writer();
  w.string(1, e.key);
  w.string(2, e.value);
  return w;
}

/** `leading`: that many initializers are written first, before the nodes (see GraphFirst). */
export function graphW(g: GraphP, leading = 0): Writer {
  const w = new Writer();
  for (let i = 0; i < leading; i++) w.message(5, tensorW(g.initializer[i]!));
  for (const n of g.node) w.message(1, nodeW(n));
  if (g.name) w.string(2, g.name);
  for (let i = leading; i < g.initializer.length; i++) w.message(5, tensorW(g.initializer[i]!));
  if (g.docString) w.string(10, g.docString);
  for (const v of g.input) w.message(11, valueInfoW(v));
  for (const v of g.output) w.message(12, valueInfoW(v));
  for (const v of g.valueInfo) w.message(13, valueInfoW(v));
  for (const q of g.quantizationAnnotation) w.raw(q);
  for (const s of g.sparseInitializer) w.message(15, sparseW(s));
  for (const e of g.metadata) w.message(16, entryW(e));
  return w;
}

function nodeW(n: NodeP): Writer {
  const w = new Writer();
  for (const s of n.input) w.string(1, s);
  for (const s of n.output) w.string(2, s);
  if (n.name) w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attribute) w.message(5, attributeW(a));
  if (n.docString) w.string(6, n.docString);
  if (n.domain) w.string(7, n.domain);
  if (n.overload) w.string(8, n.overload);
  for (const e of n.metadata) w.message(9, entryW(e));
  for (const d of n.deviceConfigurations) w.raw(d);
  return w;
}

function attributeW(a: AttributeP): Writer {
  const w = new Writer();
  w.string(1, a.name);
  if (a.f !== undefined) w.float(2, a.f);
  if (a.i !== undefined) w.int64(3, a.i);
  if (a.s !== undefined) w.bytes(4, a.s);
  if (a.t) w.message(5, tensorW(a.t));
  if (a.g) w.message(6, graphW(a.g));
  if (a.floats.length) w.packedFloat(7, a.floats);
  if (a.ints.length) w.packedInt64(8, a.ints);
  for (const s of a.strings) w.bytes(9, s);
  for (const t of a.tensors) w.message(10, tensorW(t));
  for (const g of a.graphs) w.message(11, graphW(g));
  if (a.docString) w.string(13, a.docString);
  if (a.tp) w.message(14, typeW(a.tp));
  for (const t of a.typeProtos) w.message(15, typeW(t));
  w.int32(20, a.type);
  if (a.refAttrName) w.string(21, a.refAttrName);
  if (a.sparseTensor) w.message(22, sparseW(a.sparseTensor));
  for (const s of a.sparseTensors) w.message(23, sparseW(s));
  return w;
}

export function tensorW(t: TensorP): Writer {
  const w = new Writer();
  w.packedInt64(1, t.dims);
  w.int32(2, t.dataType);
  if (t.segment) {
    const s = new Writer();
    s.int64(1, t.segment.begin);
    s.int64(2, t.segment.end);
    w.message(3, s);
  }
  if (t.floatData.length) w.packedFloat(4, t.floatData);
  if (t.int32Data.length) w.packedInt64(5, t.int32Data);
  for (const s of t.stringData) w.bytes(6, s);
  if (t.int64Data.length) w.packedInt64(7, t.int64Data);
  if (t.name) w.string(8, t.name);
  if (t.rawData) w.bytes(9, t.rawData);
  if (t.doubleData.length) {
    const b = new Uint8Array(t.doubleData.length * 8);
    const dv = new DataView(b.buffer);
    t.doubleData.forEach((v, i) => dv.setFloat64(i * 8, v, true));
    w.bytes(10, b);
  }
  if (t.uint64Data.length) w.packedInt64(11, t.uint64Data);
  if (t.docString) w.string(12, t.docString);
  for (const e of t.externalData) w.message(13, entryW(e));
  if (t.dataLocation) w.int32(14, t.dataLocation);
  for (const e of t.metadata) w.message(16, entryW(e));
  return w;
}

function sparseW(s: SparseTensorP): Writer {
  const w = new Writer();
  if (s.values) w.message(1, tensorW(s.values));
  if (s.indices) w.message(2, tensorW(s.indices));
  w.packedInt64(3, s.dims);
  return w;
}

function valueInfoW(v: ValueInfoP): Writer {
  const w = new Writer();
  w.string(1, v.name);
  if (v.type) w.message(2, typeW(v.type));
  if (v.docString) w.string(3, v.docString);
  for (const e of v.metadata) w.message(4, entryW(e));
  return w;
}

function typeW(t: TypeP): Writer {
  const w = new Writer();
  switch (t.kind) {
    case 'tensor':
    case 'sparse_tensor': {
      const tt = new Writer();
      if (t.elemType) tt.int32(1, t.elemType);
      if (t.shape) tt.message(2, shapeW(t.shape));
      w.message(t.kind === 'tensor' ? 1 : 8, tt);
      break;
    }
    case 'sequence':
    case 'optional': {
      const s = new Writer();
      if (t.elem) s.message(1, typeW(t.elem));
      w.message(t.kind === 'sequence' ? 4 : 9, s);
      break;
    }
    case 'map': {
      const s = new Writer();
      s.int32(1, t.keyType);
      if (t.value) s.message(2, typeW(t.value));
      w.message(5, s);
      break;
    }
    case 'none':
      break;
  }
  if (t.denotation) w.string(6, t.denotation);
  return w;
}

function shapeW(dims: DimensionP[]): Writer {
  const w = new Writer();
  for (const d of dims) {
    const dw = new Writer();
    if (d.value !== undefined) dw.int64(1, d.value);
    else if (d.param !== undefined) dw.string(2, d.param);
    if (d.denotation) dw.string(3, d.denotation);
    w.message(1, dw);
  }
  return w;
}

function functionW(f: FunctionP): Writer {
  const w = new Writer();
  w.string(1, f.name);
  for (const s of f.input) w.string(4, s);
  for (const s of f.output) w.string(5, s);
  for (const s of f.attribute) w.string(6, s);
  for (const n of f.node) w.message(7, nodeW(n));
  if (f.docString) w.string(8, f.docString);
  for (const o of f.opsetImport) w.message(9, opsetW(o));
  if (f.domain) w.string(10, f.domain);
  for (const a of f.attributeProto) w.message(11, attributeW(a));
  for (const v of f.valueInfo) w.message(12, valueInfoW(v));
  if (f.overload) w.string(13, f.overload);
  for (const e of f.metadata) w.message(14, entryW(e));
  return w;
}
