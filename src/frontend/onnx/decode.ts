import {
  Reader, WireError, WIRE_I32, WIRE_I64, WIRE_LEN, WIRE_VARINT,
} from './protobuf.js';
import {
  emptyAttributeP, emptyGraphP, emptyModelP, emptyNodeP, emptyTensorP,
  type AttributeP, type DimensionP, type FunctionP, type GraphP, type ModelP, type NodeP, type OperatorSetIdP,
  type SparseTensorP, type StringStringEntryP, type TensorP, type TypeP, type ValueInfoP,
} from './proto.js';

/** Deepest nesting of subgraphs / types accepted; hostile files must not overflow the stack. */
const MAX_DEPTH = 64;

/** Decodes an ONNX ModelProto. Throws WireError on malformed bytes. */
export function decodeModel(buf: Uint8Array): ModelP {
  const r = new Reader(buf);
  const m = emptyModelP();
  while (!r.done) {
    const start = r.pos;
    const [f, w] = r.tag();
    switch (f) {
      case 1: r.expect(w, WIRE_VARINT, 'ir_version'); m.irVersion = r.int64Number('ir_version'); break;
      case 8: r.expect(w, WIRE_LEN, 'opset_import'); m.opsetImport.push(decodeOpset(r.sub())); break;
      case 2: r.expect(w, WIRE_LEN, 'producer_name'); m.producerName = r.string(); break;
      case 3: r.expect(w, WIRE_LEN, 'producer_version'); m.producerVersion = r.string(); break;
      case 4: r.expect(w, WIRE_LEN, 'domain'); m.domain = r.string(); break;
      case 5: r.expect(w, WIRE_VARINT, 'model_version'); m.modelVersion = r.int64Number('model_version'); break;
      case 6: r.expect(w, WIRE_LEN, 'doc_string'); m.docString = r.string(); break;
      case 7: r.expect(w, WIRE_LEN, 'graph'); m.graph = decodeGraph(r.sub(), 0); break;
      case 14: r.expect(w, WIRE_LEN, 'metadata_props'); m.metadata.push(decodeEntry(r.sub())); break;
      case 20: r.expect(w, WIRE_LEN, 'training_info'); r.skip(w); m.trainingInfo.push(r.slice(start)); break;
      case 25: {
        r.expect(w, WIRE_LEN, 'functions');
        const sub = r.sub();
        m.functions.push(decodeFunction(sub));
        break;
      }
      case 26: r.expect(w, WIRE_LEN, 'configuration'); r.skip(w); m.configuration.push(r.slice(start)); break;
      default: r.skip(w);
    }
  }
  return m;
}

function decodeOpset(r: Reader): OperatorSetIdP {
  const o: OperatorSetIdP = { domain: '', version: 0 };
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1 && w === WIRE_LEN) o.domain = r.string();
    else if (f === 2 && w === WIRE_VARINT) o.version = r.int64Number('opset version');
    else r.skip(w);
  }
  return o;
}

function decodeEntry(r: Reader): StringStringEntryP {
  const e: StringStringEntryP = { key: '', value: '' };
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1 && w === WIRE_LEN) e.key = r.string();
    else if (f === 2 && w === WIRE_LEN) e.value = r.string();
    else r.skip(w);
  }
  return e;
}

export function decodeGraph(r: Reader, depth: number): GraphP {
  if (depth > MAX_DEPTH) throw new WireError(`subgraphs nested deeper than ${MAX_DEPTH}`);
  const g = emptyGraphP();
  while (!r.done) {
    const start = r.pos;
    const [f, w] = r.tag();
    switch (f) {
      case 1: r.expect(w, WIRE_LEN, 'node'); g.node.push(decodeNode(r.sub(), depth)); break;
      case 2: r.expect(w, WIRE_LEN, 'name'); g.name = r.string(); break;
      case 5: r.expect(w, WIRE_LEN, 'initializer'); g.initializer.push(decodeTensor(r.sub())); break;
      case 15: r.expect(w, WIRE_LEN, 'sparse_initializer'); g.sparseInitializer.push(decodeSparse(r.sub())); break;
      case 10: r.expect(w, WIRE_LEN, 'doc_string'); g.docString = r.string(); break;
      case 11: r.expect(w, WIRE_LEN, 'input'); g.input.push(decodeValueInfo(r.sub())); break;
      case 12: r.expect(w, WIRE_LEN, 'output'); g.output.push(decodeValueInfo(r.sub())); break;
      case 13: r.expect(w, WIRE_LEN, 'value_info'); g.valueInfo.push(decodeValueInfo(r.sub())); break;
      case 14: r.expect(w, WIRE_LEN, 'quantization_annotation'); r.skip(w); g.quantizationAnnotation.push(r.slice(start)); break;
      case 16: r.expect(w, WIRE_LEN, 'metadata_props'); g.metadata.push(decodeEntry(r.sub())); break;
      default: r.skip(w);
    }
  }
  return g;
}

function decodeNode(r: Reader, depth: number): NodeP {
  const n = emptyNodeP();
  while (!r.done) {
    const start = r.pos;
    const [f, w] = r.tag();
    switch (f) {
      case 1: r.expect(w, WIRE_LEN, 'input'); n.input.push(r.string()); break;
      case 2: r.expect(w, WIRE_LEN, 'output'); n.output.push(r.string()); break;
      case 3: r.expect(w, WIRE_LEN, 'name'); n.name = r.string(); break;
      case 4: r.expect(w, WIRE_LEN, 'op_type'); n.opType = r.string(); break;
      case 7: r.expect(w, WIRE_LEN, 'domain'); n.domain = r.string(); break;
      case 8: r.expect(w, WIRE_LEN, 'overload'); n.overload = r.string(); break;
      case 5: r.expect(w, WIRE_LEN, 'attribute'); n.attribute.push(decodeAttribute(r.sub(), depth)); break;
      case 6: r.expect(w, WIRE_LEN, 'doc_string'); n.docString = r.string(); break;
      case 9: r.expect(w, WIRE_LEN, 'metadata_props'); n.metadata.push(decodeEntry(r.sub())); break;
      case 10: r.expect(w, WIRE_LEN, 'device_configurations'); r.skip(w); n.deviceConfigurations.push(r.slice(start)); break;
      default: r.skip(w);
    }
  }
  return n;
}

const readInt64 = (r: Reader) => r.int64();
const readInt32 = (r: Reader) => r.int32();
const readFloat = (r: Reader) => r.fixed32Float();
const readDouble = (r: Reader) => r.fixed64Double();
const readUint64 = (r: Reader) => {
  const v = r.varintBig();
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
};

function decodeAttribute(r: Reader, depth: number): AttributeP {
  const a = emptyAttributeP();
  while (!r.done) {
    const [f, w] = r.tag();
    switch (f) {
      case 1: r.expect(w, WIRE_LEN, 'name'); a.name = r.string(); break;
      case 21: r.expect(w, WIRE_LEN, 'ref_attr_name'); a.refAttrName = r.string(); break;
      case 13: r.expect(w, WIRE_LEN, 'doc_string'); a.docString = r.string(); break;
      case 20: r.expect(w, WIRE_VARINT, 'type'); a.type = r.int32(); break;
      case 2: r.expect(w, WIRE_I32, 'f'); a.f = r.fixed32Float(); break;
      case 3: r.expect(w, WIRE_VARINT, 'i'); a.i = r.int64(); break;
      case 4: r.expect(w, WIRE_LEN, 's'); a.s = r.bytes(); break;
      case 5: r.expect(w, WIRE_LEN, 't'); a.t = decodeTensor(r.sub()); break;
      case 6: r.expect(w, WIRE_LEN, 'g'); a.g = decodeGraph(r.sub(), depth + 1); break;
      case 22: r.expect(w, WIRE_LEN, 'sparse_tensor'); a.sparseTensor = decodeSparse(r.sub()); break;
      case 14: r.expect(w, WIRE_LEN, 'tp'); a.tp = decodeType(r.sub(), 0); break;
      case 7: r.repeated(w, WIRE_I32, readFloat, a.floats); break;
      case 8: r.repeated(w, WIRE_VARINT, readInt64, a.ints); break;
      case 9: r.expect(w, WIRE_LEN, 'strings'); a.strings.push(r.bytes()); break;
      case 10: r.expect(w, WIRE_LEN, 'tensors'); a.tensors.push(decodeTensor(r.sub())); break;
      case 11: r.expect(w, WIRE_LEN, 'graphs'); a.graphs.push(decodeGraph(r.sub(), depth + 1)); break;
      case 23: r.expect(w, WIRE_LEN, 'sparse_tensors'); a.sparseTensors.push(decodeSparse(r.sub())); break;
      case 15: r.expect(w, WIRE_LEN, 'type_protos'); a.typeProtos.push(decodeType(r.sub(), 0)); break;
      default: r.skip(w);
    }
  }
  return a;
}

export function decodeTensor(r: Reader): TensorP {
  const t = emptyTensorP();
  while (!r.done) {
    const [f, w] = r.tag();
    switch (f) {
      case 1: r.repeated(w, WIRE_VARINT, (x) => x.int64Number('dim'), t.dims); break;
      case 2: r.expect(w, WIRE_VARINT, 'data_type'); t.dataType = r.int32(); break;
      case 3: {
        r.expect(w, WIRE_LEN, 'segment');
        const s = r.sub();
        const seg = { begin: 0, end: 0 };
        while (!s.done) {
          const [sf, sw] = s.tag();
          if (sf === 1 && sw === WIRE_VARINT) seg.begin = s.int64Number('segment.begin');
          else if (sf === 2 && sw === WIRE_VARINT) seg.end = s.int64Number('segment.end');
          else s.skip(sw);
        }
        t.segment = seg;
        break;
      }
      case 4: r.repeated(w, WIRE_I32, readFloat, t.floatData); break;
      case 5: r.repeated(w, WIRE_VARINT, readInt32, t.int32Data); break;
      case 6: r.expect(w, WIRE_LEN, 'string_data'); t.stringData.push(r.bytes()); break;
      case 7: r.repeated(w, WIRE_VARINT, readInt64, t.int64Data); break;
      case 8: r.expect(w, WIRE_LEN, 'name'); t.name = r.string(); break;
      case 12: r.expect(w, WIRE_LEN, 'doc_string'); t.docString = r.string(); break;
      case 9: r.expect(w, WIRE_LEN, 'raw_data'); t.rawData = r.bytes(); break;
      case 13: r.expect(w, WIRE_LEN, 'external_data'); t.externalData.push(decodeEntry(r.sub())); break;
      case 14: r.expect(w, WIRE_VARINT, 'data_location'); t.dataLocation = r.int32(); break;
      case 10: r.repeated(w, WIRE_I64, readDouble, t.doubleData); break;
      case 11: r.repeated(w, WIRE_VARINT, readUint64, t.uint64Data); break;
      case 16: r.expect(w, WIRE_LEN, 'metadata_props'); t.metadata.push(decodeEntry(r.sub())); break;
      default: r.skip(w);
    }
  }
  return t;
}

function decodeSparse(r: Reader): SparseTensorP {
  const s: SparseTensorP = { values: null, indices: null, dims: [] };
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1 && w === WIRE_LEN) s.values = decodeTensor(r.sub());
    else if (f === 2 && w === WIRE_LEN) s.indices = decodeTensor(r.sub());
    else if (f === 3) r.repeated(w, WIRE_VARINT, (x) => x.int64Number('dim'), s.dims);
    else r.skip(w);
  }
  return s;
}

function decodeValueInfo(r: Reader): ValueInfoP {
  const v: ValueInfoP = { name: '', type: null, docString: '', metadata: [] };
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1 && w === WIRE_LEN) v.name = r.string();
    else if (f === 2 && w === WIRE_LEN) v.type = decodeType(r.sub(), 0);
    else if (f === 3 && w === WIRE_LEN) v.docString = r.string();
    else if (f === 4 && w === WIRE_LEN) v.metadata.push(decodeEntry(r.sub()));
    else r.skip(w);
  }
  return v;
}

function decodeType(r: Reader, depth: number): TypeP {
  if (depth > MAX_DEPTH) throw new WireError(`types nested deeper than ${MAX_DEPTH}`);
  let t: TypeP = { kind: 'none' };
  let denotation: string | undefined;
  while (!r.done) {
    const [f, w] = r.tag();
    if (w !== WIRE_LEN && f !== 6) {
      r.skip(w);
      continue;
    }
    switch (f) {
      case 1: t = decodeTensorType(r.sub(), 'tensor'); break;
      case 8: t = decodeTensorType(r.sub(), 'sparse_tensor'); break;
      case 4: t = { kind: 'sequence', elem: decodeElem(r.sub(), depth) }; break;
      case 9: t = { kind: 'optional', elem: decodeElem(r.sub(), depth) }; break;
      case 5: {
        const s = r.sub();
        let keyType = 0;
        let value: TypeP | null = null;
        while (!s.done) {
          const [sf, sw] = s.tag();
          if (sf === 1 && sw === WIRE_VARINT) keyType = s.int32();
          else if (sf === 2 && sw === WIRE_LEN) value = decodeType(s.sub(), depth + 1);
          else s.skip(sw);
        }
        t = { kind: 'map', keyType, value };
        break;
      }
      case 6: r.expect(w, WIRE_LEN, 'denotation'); denotation = r.string(); break;
      default: r.skip(w);
    }
  }
  if (denotation !== undefined) t.denotation = denotation;
  return t;
}

function decodeElem(r: Reader, depth: number): TypeP | null {
  let elem: TypeP | null = null;
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1 && w === WIRE_LEN) elem = decodeType(r.sub(), depth + 1);
    else r.skip(w);
  }
  return elem;
}

function decodeTensorType(r: Reader, kind: 'tensor' | 'sparse_tensor'): TypeP {
  let elemType = 0;
  let shape: DimensionP[] | null = null;
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1 && w === WIRE_VARINT) elemType = r.int32();
    else if (f === 2 && w === WIRE_LEN) {
      shape = [];
      const s = r.sub();
      while (!s.done) {
        const [sf, sw] = s.tag();
        if (sf === 1 && sw === WIRE_LEN) shape.push(decodeDim(s.sub()));
        else s.skip(sw);
      }
    } else r.skip(w);
  }
  return { kind, elemType, shape };
}

function decodeDim(r: Reader): DimensionP {
  const d: DimensionP = {};
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1 && w === WIRE_VARINT) d.value = r.int64Number('dim_value');
    else if (f === 2 && w === WIRE_LEN) d.param = r.string();
    else if (f === 3 && w === WIRE_LEN) d.denotation = r.string();
    else r.skip(w);
  }
  return d;
}

function decodeFunction(r: Reader): FunctionP {
  const fn: FunctionP = {
    name: '', input: [], output: [], attribute: [], attributeProto: [], node: [], docString: '', opsetImport: [],
    domain: '', overload: '', valueInfo: [], metadata: [], bytes: r.buf.subarray(r.pos, r.end),
  };
  while (!r.done) {
    const [f, w] = r.tag();
    switch (f) {
      case 1: r.expect(w, WIRE_LEN, 'name'); fn.name = r.string(); break;
      case 4: r.expect(w, WIRE_LEN, 'input'); fn.input.push(r.string()); break;
      case 5: r.expect(w, WIRE_LEN, 'output'); fn.output.push(r.string()); break;
      case 6: r.expect(w, WIRE_LEN, 'attribute'); fn.attribute.push(r.string()); break;
      case 11: r.expect(w, WIRE_LEN, 'attribute_proto'); fn.attributeProto.push(decodeAttribute(r.sub(), 0)); break;
      case 7: r.expect(w, WIRE_LEN, 'node'); fn.node.push(decodeNode(r.sub(), 0)); break;
      case 8: r.expect(w, WIRE_LEN, 'doc_string'); fn.docString = r.string(); break;
      case 9: r.expect(w, WIRE_LEN, 'opset_import'); fn.opsetImport.push(decodeOpset(r.sub())); break;
      case 10: r.expect(w, WIRE_LEN, 'domain'); fn.domain = r.string(); break;
      case 13: r.expect(w, WIRE_LEN, 'overload'); fn.overload = r.string(); break;
      case 12: r.expect(w, WIRE_LEN, 'value_info'); fn.valueInfo.push(decodeValueInfo(r.sub())); break;
      case 14: r.expect(w, WIRE_LEN, 'metadata_props'); fn.metadata.push(decodeEntry(r.sub())); break;
      default: r.skip(w);
    }
  }
  return fn;
}
