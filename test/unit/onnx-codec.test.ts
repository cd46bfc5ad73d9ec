import { describe, expect, it } from 'vitest';
import { Reader, WireError, Writer } from '../../src/frontend/onnx/protobuf.js';
import { decodeModel } from '../../src/frontend/onnx/decode.js';
import { encodeModel } from '../../src/frontend/onnx/encode.js';
import { concatChunks, decodeModelBytes, encodeModelBytes } from '../../src/frontend/onnx/index.js';
import {
  emptyAttributeP, emptyGraphP, emptyModelP, emptyNodeP, emptyTensorP, AttrType, type ModelP, type NodeP,
} from '../../src/frontend/onnx/proto.js';
import { Graph } from '../../src/ir/graph.js';
import { Model } from '../../src/ir/model.js';
import { Node } from '../../src/ir/node.js';
import { Value } from '../../src/ir/value.js';
import { Tensor } from '../../src/ir/tensor.js';
import { allDTypes, byteLength, dtypeFromName } from '../../src/ir/dtype.js';
import { printGraph } from '../../src/ir/print.js';
import { verify } from '../../src/ir/verify.js';
import type { Attribute } from '../../src/ir/attribute.js';

const d = (n: string) => dtypeFromName(n)!;
const INT64_MAX = 2n ** 63n - 1n;

describe('protobuf wire format', () => {
  it('round-trips varints, negative int64 and the int64 extremes', () => {
    const w = new Writer();
    const vals: (number | bigint)[] = [0, 1, 127, 128, 300, 2 ** 40, -1, -123456, Number.MAX_SAFE_INTEGER, INT64_MAX, -(2n ** 63n)];
    vals.forEach((v, i) => w.int64(i + 1, v));
    const r = new Reader(w.concat());
    for (const v of vals) {
      r.tag();
      expect(r.int64()).toBe(v);
    }
  });

  it('reads repeated fields packed and unpacked', () => {
    const packed = new Writer();
    packed.packedInt64(8, [1, -2, 3]);
    const unpacked = new Writer();
    for (const v of [1, -2, 3]) unpacked.int64(8, v);
    for (const w of [packed, unpacked]) {
      const r = new Reader(w.concat());
      const out: (number | bigint)[] = [];
      while (!r.done) {
        const [, wire] = r.tag();
        r.repeated(wire, 0, (x) => x.int64(), out);
      }
      expect(out).toEqual([1, -2, 3]);
    }
  });

  it('rejects truncation and bad wire types with WireError', () => {
    const w = new Writer();
    w.string(2, 'hello world');
    const b = w.concat();
    expect(() => decodeModel(b.subarray(0, b.length - 3))).toThrow(WireError);
    expect(() => decodeModel(new Uint8Array([0x0f]))).toThrow(/wire type|field number/);
    expect(() => decodeModel(new Uint8Array([0x08, 0xff, 0xff]))).toThrow(/truncated varint/);
  });

  it('refuses subgraphs nested past the depth limit instead of overflowing the stack', () => {
    let g = emptyGraphP();
    for (let i = 0; i < 200; i++) {
      const n = emptyNodeP();
      n.opType = 'If';
      const a = emptyAttributeP();
      a.name = 'then_branch';
      a.type = AttrType.GRAPH;
      a.g = g;
      n.attribute.push(a);
      g = { ...emptyGraphP(), node: [n] };
    }
    const m = { ...emptyModelP(), irVersion: 8, graph: g, opsetImport: [{ domain: '', version: 17 }] };
    expect(() => decodeModel(encodeModel(m))).toThrow(/nested deeper/);
  });
});

function tensorOf(name: string, dtype: string, dims: number[], fill = 7): Tensor {
  const dt = d(dtype);
  const bytes = new Uint8Array(byteLength(dt, dims.reduce((a, b) => a * b, 1)));
  bytes.forEach((_, i) => (bytes[i] = (i * fill + 3) & 0xff));
  return Tensor.fromBytes(dt, dims, bytes, name);
}

/** A model touching every attribute kind, every dtype, metadata everywhere, subgraphs and odd types. */
function kitchenSink(): Model {
  const g = new Graph('main');
  g.docString = 'graph doc';
  g.metadata.set('gk', 'gv');
  const x = g.addInput(new Value('x', { kind: 'tensor', dtype: d('float32'), shape: ['batch', 3, null] }));
  x.docString = 'the input';
  x.metadata.set('vk', 'vv');
  g.addInput(new Value('seq_in', { kind: 'sequence', elem: { kind: 'tensor', dtype: d('int64'), shape: null } }));
  const w = new Value('w');
  g.addInput(w);
  g.addInitializer(w, tensorOf('w', 'float32', [3]));
  for (const dt of allDTypes()) {
    if (dt.name === 'string') {
      g.addConstant('c_string', Tensor.fromStrings([2], [new TextEncoder().encode('héllo'), new Uint8Array([0xff, 0x00])], dt, 'c_string'));
    } else {
      g.addConstant(`c_${dt.name}`, tensorOf(`c_${dt.name}`, dt.name, [3, 5]));
    }
  }
  const body = new Graph('then');
  const inner = new Node({ op: 'Identity', inputs: [x], name: 'inner' });
  body.append(inner);
  body.outputs.push(inner.output);
  inner.output.name = 'then_out';
  const elseG = new Graph('else');
  const inner2 = new Node({ op: 'Neg', inputs: [x], name: 'inner2' });
  elseG.append(inner2);
  elseG.outputs.push(inner2.output);
  inner2.output.name = 'else_out';
  const sparse = { values: tensorOf('sv', 'float32', [2]), indices: Tensor.fromArray(d('int64'), [2], new BigInt64Array([1n, 4n]), 'si'), dims: [2, 3] };
  const attrs: Record<string, Attribute> = {
    f: { type: 'float', value: 0.5 },
    i: { type: 'int', value: -3 },
    big: { type: 'int', value: INT64_MAX },
    s: { type: 'string', value: 'constant', docString: 'attr doc' },
    raw: { type: 'string', value: '\ufffd', raw: new Uint8Array([0xfe, 0xff]) },
    t: { type: 'tensor', value: tensorOf('tt', 'int64', [2]) },
    st: { type: 'sparse_tensor', value: sparse },
    tp: { type: 'type_proto', value: { kind: 'map', key: d('int64'), value: { kind: 'optional', elem: { kind: 'tensor', dtype: d('float16'), shape: [1] } } } },
    fs: { type: 'floats', value: [1.5, -2.25] },
    is: { type: 'ints', value: [1, -1, INT64_MAX] },
    ss: { type: 'strings', value: ['a', 'b c'] },
    ts: { type: 'tensors', value: [tensorOf('t1', 'bfloat16', [2]), tensorOf('t2', 'int4', [3])] },
    sts: { type: 'sparse_tensors', value: [sparse] },
    tps: { type: 'type_protos', value: [{ kind: 'sparse_tensor', dtype: d('float32'), shape: [2, 2] }] },
    then_branch: { type: 'graph', value: body },
    else_branch: { type: 'graph', value: elseG },
  };
  const cond = g.addInput(new Value('cond', { kind: 'tensor', dtype: d('bool'), shape: [] }));
  const iff = new Node({ op: 'If', inputs: [cond], name: 'the_if', attrs: Object.entries(attrs) });
  iff.docString = 'node doc';
  iff.metadata.set('pkg.torch.onnx.name_scopes', "['', 'blk']");
  g.append(iff);
  iff.output.name = 'y';
  iff.output.type = { kind: 'tensor', dtype: d('float32'), shape: ['batch', 3, null] };
  const custom = new Node({ op: 'MyOp', domain: 'com.example', inputs: [iff.output, null, w], outputs: 2, name: 'custom', overload: 'v2' });
  g.append(custom);
  custom.outputs[0]!.name = 'z';
  g.outputs.push(iff.output, custom.outputs[0]!);
  const m = new Model(g, 10, new Map([['', 18], ['com.example', 1]]));
  m.producerName = 'pytorch';
  m.producerVersion = '2.9.0';
  m.domain = 'org.test';
  m.modelVersion = 3;
  m.docString = 'model doc';
  m.metadata.set('k', 'v');
  return m;
}

describe('ONNX encode/decode round trip', () => {
  it('preserves every attribute kind, dtype, type, metadata and doc string', () => {
    const m = kitchenSink();
    verify(m.graph);
    const bytes = concatChunks(encodeModelBytes(m).chunks);
    const back = decodeModelBytes(bytes);
    verify(back.graph);
    // Encoding is a fixpoint after one trip (the first trip only names unnamed values and types initializer inputs).
    const again = concatChunks(encodeModelBytes(back).chunks);
    expect(again).toEqual(bytes);
    expect(printGraph(decodeModelBytes(again).graph)).toBe(printGraph(back.graph));
    expect(printGraph(back.graph).replace('%v__0', '%0').replace('%w: float32[3]', '%w: ?').replace('"\ufffd\ufffd"', '"\ufffd"')).toBe(printGraph(m.graph));

    expect(back.producerName).toBe('pytorch');
    expect(back.modelVersion).toBe(3);
    expect([...back.opsets]).toEqual([['', 18], ['com.example', 1]]);
    expect(back.metadata.get('k')).toBe('v');
    expect(back.graph.metadata.get('gk')).toBe('gv');
    const x = back.graph.inputs[0]!;
    expect(x.type).toEqual({ kind: 'tensor', dtype: d('float32'), shape: ['batch', 3, null] });
    expect(x.metadata.get('vk')).toBe('vv');
    expect(back.graph.inputs[1]!.type?.kind).toBe('sequence');
    // An initializer listed as an input stays an input with a default.
    const w = back.graph.inputs[2]!;
    expect(w.name).toBe('w');
    expect(w.const).not.toBeNull();
    const iff = back.graph.first!;
    expect(iff.docString).toBe('node doc');
    expect(iff.metadata.get('pkg.torch.onnx.name_scopes')).toBe("['', 'blk']");
    expect(iff.attrs.get('big')).toEqual({ type: 'int', value: INT64_MAX });
    expect(iff.attrs.get('is')!.value).toEqual([1, -1, INT64_MAX]);
    expect((iff.attrs.get('raw') as { raw: Uint8Array }).raw).toEqual(new Uint8Array([0xfe, 0xff]));
    expect(iff.attrs.get('s')!.docString).toBe('attr doc');
    // The subgraph reads the outer input x by identity.
    const then = (iff.attrs.get('then_branch') as { value: Graph }).value;
    expect(then.first!.inputs[0]).toBe(x);
    const custom = back.graph.last!;
    expect(custom.domain).toBe('com.example');
    expect(custom.overload).toBe('v2');
    expect(custom.inputs[1]).toBeNull();
    for (const dt of allDTypes()) {
      const c = back.graph.initializers.find((v) => v.name === `c_${dt.name}`)!;
      expect(c.const!.dtype).toBe(dt);
      if (dt.name !== 'string') expect(c.const!.bytes).toEqual(tensorOf('', dt.name, [3, 5]).bytes);
    }
    const s = back.graph.initializers.find((v) => v.name === 'c_string')!.const!;
    expect(s.strings[1]).toEqual(new Uint8Array([0xff, 0x00]));
  });

  it('keeps initializer bytes as views of the input buffer (zero copy)', () => {
    const g = new Graph('g');
    const big = tensorOf('big', 'float32', [256, 256]);
    const c = g.addConstant('big', big);
    const n = new Node({ op: 'Relu', inputs: [c] });
    g.append(n);
    g.outputs.push(n.output);
    const bytes = concatChunks(encodeModelBytes(new Model(g)).chunks);
    const back = decodeModelBytes(bytes);
    const t = back.graph.initializers[0]!.const!;
    expect(t.bytes.buffer).toBe(bytes.buffer);
    expect(t.bytes).toEqual(big.bytes);
  });
});

function modelP(nodes: NodeP[], init: ReturnType<typeof emptyTensorP>[] = []): ModelP {
  return {
    ...emptyModelP(), irVersion: 8, opsetImport: [{ domain: '', version: 17 }],
    graph: { ...emptyGraphP(), name: 'g', node: nodes, initializer: init, output: [{ name: 'y', type: null, docString: '', metadata: [] }] },
  };
}

describe('typed tensor fields', () => {
  const cases: [string, Partial<ReturnType<typeof emptyTensorP>>, number[]][] = [
    ['float32', { floatData: [1.5, -2] }, [0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0]],
    ['float64', { doubleData: [1] }, [0, 0, 0, 0, 0, 0, 0xf0, 0x3f]],
    ['int64', { int64Data: [-1, 2] }, [255, 255, 255, 255, 255, 255, 255, 255, 2, 0, 0, 0, 0, 0, 0, 0]],
    ['int32', { int32Data: [-2] }, [0xfe, 0xff, 0xff, 0xff]],
    ['float16', { int32Data: [0x3c00] }, [0x00, 0x3c]],
    ['bfloat16', { int32Data: [0x3f80] }, [0x80, 0x3f]],
    ['bool', { int32Data: [1, 0] }, [1, 0]],
    ['int8', { int32Data: [-1] }, [0xff]],
    ['uint32', { uint64Data: [4294967295] }, [255, 255, 255, 255]],
    ['uint64', { uint64Data: [1] }, [1, 0, 0, 0, 0, 0, 0, 0]],
    ['float8e4m3fn', { int32Data: [0x38] }, [0x38]],
    ['int4', { int32Data: [0x21, 0x03] }, [0x21, 0x03]],
  ];
  for (const [dtype, fields, want] of cases) {
    it(`reads ${dtype}`, () => {
      const t = { ...emptyTensorP(), name: 'c', dataType: d(dtype).onnx, ...fields };
      const n: ReturnType<typeof dtypeFromName> = d(dtype);
      const size = dtype === 'int4' ? 3 : want.length / (n.bits / 8);
      t.dims = [size];
      const node = { ...emptyNodeP(), opType: 'Identity', input: ['c'], output: ['y'] };
      const m = decodeModelBytes(encodeModel(modelP([node], [t])));
      expect(m.graph.initializers[0]!.const!.bytes).toEqual(new Uint8Array(want));
    });
  }

  it('reports a count mismatch', () => {
    const t = { ...emptyTensorP(), name: 'c', dataType: 1, dims: [3], floatData: [1] };
    const node = { ...emptyNodeP(), opType: 'Identity', input: ['c'], output: ['y'] };
    expect(() => decodeModelBytes(encodeModel(modelP([node], [t])))).toThrow(/1 values in float_data, expected 3/);
  });

  it('reports raw_data of the wrong size and unknown dtypes', () => {
    const node = { ...emptyNodeP(), opType: 'Identity', input: ['c'], output: ['y'] };
    const short = { ...emptyTensorP(), name: 'c', dataType: 1, dims: [3], rawData: new Uint8Array(8) };
    expect(() => decodeModelBytes(encodeModel(modelP([node], [short])))).toThrow(/8 bytes of raw_data, expected 12/);
    const unknown = { ...emptyTensorP(), name: 'c', dataType: 99, dims: [1], rawData: new Uint8Array(4) };
    expect(() => decodeModelBytes(encodeModel(modelP([node], [unknown])))).toThrow(/unknown data type 99/);
  });

  it('densifies sparse initializers', () => {
    const p = modelP([{ ...emptyNodeP(), opType: 'Identity', input: ['s'], output: ['y'] }]);
    p.graph!.sparseInitializer.push({
      values: { ...emptyTensorP(), name: 's', dataType: 1, dims: [2], floatData: [5, 6] },
      indices: { ...emptyTensorP(), name: '', dataType: 7, dims: [2, 2], int64Data: [0, 1, 1, 0] },
      dims: [2, 2],
    });
    const m = decodeModelBytes(encodeModel(p));
    expect(Array.from(m.graph.initializers[0]!.const!.toArray() as Float32Array)).toEqual([0, 5, 6, 0]);
  });
});
