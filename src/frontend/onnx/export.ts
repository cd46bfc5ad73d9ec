import type { Attribute, SparseTensor } from '../../ir/attribute.js';
import type { Graph } from '../../ir/graph.js';
import type { Model } from '../../ir/model.js';
import type { Node } from '../../ir/node.js';
import type { Tensor } from '../../ir/tensor.js';
import type { Value } from '../../ir/value.js';
import {
  AttrType, emptyAttributeP, emptyGraphP, emptyModelP, emptyNodeP, emptyTensorP,
  type AttributeP, type GraphP, type ModelP, type NodeP, type SparseTensorP, type StringStringEntryP, type TensorP,
  type ValueInfoP,
} from './proto.js';
import { typeToP } from './tensors.js';
import { Writer, type Chunk } from './protobuf.js';
import { tensorW } from './encode.js';

export interface ExportOptions {
  /**
   * Store tensors of at least `threshold` bytes in the file `location` (relative to the model) instead of inline.
   * The payload chunks to write there, in order, are returned in `ExportResult.externalChunks`.
   */
  externalData?: { location: string; threshold: number; align?: number };
  /**
   * Initializers (by tensor) that go first in the graph, in this order, for the graph-first layout (`GraphFirst` in
   * encode.ts): as many of them as the graph still holds, up to the first it no longer does.
   */
  leading?: readonly Tensor[];
}

export interface ExportResult {
  proto: ModelP;
  externalChunks: Chunk[];
  externalBytes: number;
  /** How many of `leading` come first in `proto.graph.initializer`. */
  leading: number;
}

/** Builds the ModelProto for an IR model. Values get unique names (the original ones where they are unique). */
export function exportModel(model: Model, opts: ExportOptions = {}): ExportResult {
  const ex = new Exporter(opts);
  ex.reserveNames(model.graph);
  const p = emptyModelP();
  p.irVersion = model.irVersion;
  p.opsetImport = [...model.opsets].map(([domain, version]) => ({ domain, version }));
  p.producerName = model.producerName;
  p.producerVersion = model.producerVersion;
  p.domain = model.domain;
  p.modelVersion = model.modelVersion;
  p.docString = model.docString;
  p.metadata = entries(model.metadata);
  p.trainingInfo = model.trainingInfo;
  p.configuration = model.deviceConfigurations;
  const lead = leadingValues(model.graph, opts.leading ?? []);
  p.graph = ex.graph(model.graph, lead);
  p.rawFunctions = model.unusedFunctions;
  return { proto: p, externalChunks: ex.chunks, externalBytes: ex.offset, leading: lead.length };
}

/** The initializers holding `tensors`, in that order, up to the first tensor no initializer holds. */
function leadingValues(g: Graph, tensors: readonly Tensor[]): Value[] {
  if (tensors.length === 0) return [];
  const of = new Map<Tensor, Value>();
  for (const v of g.initializers) if (v.const && !of.has(v.const)) of.set(v.const, v);
  const out: Value[] = [];
  for (const t of tensors) {
    const v = of.get(t);
    if (!v) break;
    out.push(v);
    of.delete(t);
  }
  return out;
}

/**
 * The bytes that initializers holding `tensors` take at the start of a graph-first model (the graph's fields for
 * them, named as exportModel names them), as exportModel would encode them if the model stays as it is.
 */
export function leadingInitializerChunks(model: Model, tensors: readonly Tensor[]): Chunk[] {
  const ex = new Exporter({});
  ex.reserveNames(model.graph);
  const w = new Writer();
  for (const v of leadingValues(model.graph, tensors)) w.message(5, tensorW(ex.tensor(v.const!, ex.name(v))));
  return w.finish();
}

function entries(m: Map<string, string>): StringStringEntryP[] {
  return [...m].map(([key, value]) => ({ key, value }));
}

class Exporter {
  private readonly names = new Map<Value, string>();
  private readonly used = new Set<string>();
  private counter = 0;
  readonly chunks: Chunk[] = [];
  offset = 0;

  constructor(private readonly opts: ExportOptions) {}

  /** Graph inputs and outputs keep their names first, so that callers can feed and fetch by the same names. */
  reserveNames(g: Graph): void {
    for (const v of [...g.inputs, ...g.outputs]) this.name(v);
  }

  name(v: Value): string {
    let n = this.names.get(v);
    if (n !== undefined) return n;
    n = v.name;
    if (!n || this.used.has(n)) {
      const base = n || 'v';
      do n = `${base}__${this.counter++}`;
      while (this.used.has(n));
    }
    this.used.add(n);
    this.names.set(v, n);
    return n;
  }

  graph(g: Graph, leading: readonly Value[] = []): GraphP {
    const p = emptyGraphP();
    p.name = g.name;
    p.docString = g.docString;
    p.metadata = entries(g.metadata);
    p.quantizationAnnotation = g.quantizationAnnotations;
    // Graph inputs and outputs keep a (possibly empty) type, as exporters write them; value_info only what is known.
    for (const v of g.inputs) p.input.push(this.valueInfo(v, true));
    const first = new Set(leading);
    for (const v of [...leading, ...g.initializers.filter((x) => !first.has(x))]) p.initializer.push(this.tensor(v.const!, this.name(v)));
    for (const n of g) p.node.push(this.node(n));
    for (const v of g.outputs) p.output.push(this.valueInfo(v, true));
    const outputs = new Set(g.outputs);
    for (const n of g) {
      for (const v of n.outputs) {
        if (v && !outputs.has(v) && ((v.type && typeToP(v.type)) || v.docString || v.metadata.size)) p.valueInfo.push(this.valueInfo(v, false));
      }
    }
    return p;
  }

  private valueInfo(v: Value, io: boolean): ValueInfoP {
    let type = typeToP(v.type);
    if (!type && v.const) type = { kind: 'tensor', elemType: v.const.dtype.onnx, shape: v.const.dims.map((d) => ({ value: d })) };
    if (!type && io && v.type) type = { kind: 'none' };
    return { name: this.name(v), type, docString: v.docString, metadata: entries(v.metadata) };
  }

  private node(n: Node): NodeP {
    const p = emptyNodeP();
    p.input = n.inputs.map((v) => (v ? this.name(v) : ''));
    p.output = n.outputs.map((v) => (v ? this.name(v) : ''));
    p.name = n.name;
    p.opType = n.op;
    p.domain = n.domain;
    p.overload = n.overload;
    p.docString = n.docString;
    p.metadata = entries(n.metadata);
    for (const [name, a] of n.attrs) p.attribute.push(this.attribute(name, a));
    return p;
  }

  private attribute(name: string, a: Attribute): AttributeP {
    const p = emptyAttributeP();
    p.name = name;
    if (a.docString) p.docString = a.docString;
    const enc = (s: string) => new TextEncoder().encode(s);
    switch (a.type) {
      case 'float': p.type = AttrType.FLOAT; p.f = a.value; break;
      case 'int': p.type = AttrType.INT; p.i = a.value; break;
      case 'string': p.type = AttrType.STRING; p.s = a.raw ?? enc(a.value); break;
      case 'tensor': p.type = AttrType.TENSOR; p.t = this.tensor(a.value, a.value.name, false); break;
      case 'graph': p.type = AttrType.GRAPH; p.g = this.graph(a.value); break;
      case 'sparse_tensor': p.type = AttrType.SPARSE_TENSOR; p.sparseTensor = this.sparse(a.value); break;
      case 'type_proto': p.type = AttrType.TYPE_PROTO; p.tp = typeToP(a.value) ?? { kind: 'none' }; break;
      case 'floats': p.type = AttrType.FLOATS; p.floats = a.value; break;
      case 'ints': p.type = AttrType.INTS; p.ints = a.value; break;
      case 'strings': p.type = AttrType.STRINGS; p.strings = a.raw ?? a.value.map(enc); break;
      case 'tensors': p.type = AttrType.TENSORS; p.tensors = a.value.map((t) => this.tensor(t, t.name, false)); break;
      case 'graphs': p.type = AttrType.GRAPHS; p.graphs = a.value.map((g) => this.graph(g)); break;
      case 'sparse_tensors': p.type = AttrType.SPARSE_TENSORS; p.sparseTensors = a.value.map((s) => this.sparse(s)); break;
      case 'type_protos': p.type = AttrType.TYPE_PROTOS; p.typeProtos = a.value.map((t) => typeToP(t) ?? { kind: 'none' }); break;
    }
    return p;
  }

  private sparse(s: SparseTensor): SparseTensorP {
    return { values: this.tensor(s.values, s.values.name, false), indices: this.tensor(s.indices, s.indices.name, false), dims: s.dims };
  }

  tensor(t: Tensor, name: string, mayExternalize = true): TensorP {
    const p = emptyTensorP();
    p.name = name;
    p.dims = [...t.dims];
    p.dataType = t.dtype.onnx;
    p.docString = t.docString;
    p.metadata = entries(t.metadata);
    if (t.isString) {
      p.stringData = [...t.strings];
      return p;
    }
    const ext = this.opts.externalData;
    if (ext && mayExternalize && t.nbytes >= ext.threshold && t.nbytes > 0) {
      const align = ext.align ?? 64;
      const pad = (align - (this.offset % align)) % align;
      if (pad) {
        this.chunks.push(new Uint8Array(pad));
        this.offset += pad;
      }
      const bytes = t.payload();
      p.dataLocation = 1;
      p.externalData = [
        { key: 'location', value: ext.location },
        { key: 'offset', value: String(this.offset) },
        { key: 'length', value: String(bytes.length) },
      ];
      this.chunks.push(bytes);
      this.offset += bytes.length;
      return p;
    }
    p.rawData = t.payload();
    return p;
  }
}
