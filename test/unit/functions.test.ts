import { describe, expect, it } from 'vitest';
import { encodeModel } from '../../src/frontend/onnx/encode.js';
import { decodeModelBytes } from '../../src/frontend/onnx/index.js';
import { INLINED_FROM } from '../../src/frontend/onnx/inline.js';
import { AttrType, emptyAttributeP, emptyGraphP, emptyModelP, emptyNodeP, type FunctionP, type NodeP } from '../../src/frontend/onnx/proto.js';
import { verify } from '../../src/ir/verify.js';

const node = (op: string, input: string[], output: string[], extra: Partial<NodeP> = {}): NodeP => ({ ...emptyNodeP(), opType: op, input, output, ...extra });

function fn(name: string, input: string[], output: string[], nodes: NodeP[], extra: Partial<FunctionP> = {}): FunctionP {
  return {
    name, input, output, attribute: [], attributeProto: [], node: nodes, docString: '', opsetImport: [{ domain: '', version: 17 }],
    domain: 'local', overload: '', valueInfo: [], metadata: [], bytes: new Uint8Array(), ...extra,
  };
}

describe('local functions', () => {
  it('inlines calls, renames internals, substitutes attributes and keeps provenance', () => {
    const alphaRef = { ...emptyAttributeP(), name: 'alpha', refAttrName: 'a', type: AttrType.FLOAT };
    const betaRef = { ...emptyAttributeP(), name: 'beta', refAttrName: 'b', type: AttrType.FLOAT };
    const inner = fn('Scale', ['x'], ['y'], [node('Mul', ['x', 'x'], ['t']), node('Elu', ['t'], ['y'], { attribute: [alphaRef], name: 'elu' })]);
    const defaultB = { ...emptyAttributeP(), name: 'b', type: AttrType.FLOAT, f: 0.25 };
    const outer = fn('Block', ['x'], ['y'], [
      node('Scale', ['x'], ['t'], { domain: 'local', name: 'scale', attribute: [{ ...emptyAttributeP(), name: 'a', refAttrName: 'a', type: AttrType.FLOAT }] }),
      node('HardSigmoid', ['t'], ['y'], { attribute: [betaRef, { ...alphaRef, refAttrName: 'missing' }] }),
    ], { attribute: ['a'], attributeProto: [defaultB] });
    const unused = fn('Unused', ['x'], ['y'], [node('Relu', ['x'], ['y'])], { domain: 'kept' });
    const callA = { ...emptyAttributeP(), name: 'a', type: AttrType.FLOAT, f: 2 };
    const m = decodeModelBytes(encodeModel({
      ...emptyModelP(), irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }, { domain: 'local', version: 1 }, { domain: 'kept', version: 1 }],
      functions: [inner, outer, unused],
      graph: {
        ...emptyGraphP(), name: 'g',
        input: [{ name: 'in', type: { kind: 'tensor', elemType: 1, shape: [{ value: 2 }] }, docString: '', metadata: [] }],
        node: [
          node('Block', ['in'], ['mid'], { domain: 'local', name: 'b1', attribute: [callA] }),
          node('Block', ['mid'], ['out'], { domain: 'local', name: 'b2', attribute: [callA] }),
        ],
        output: [{ name: 'out', type: null, docString: '', metadata: [] }],
      },
    }));
    verify(m.graph);
    const ops = m.graph.nodes.map((n) => n.op);
    expect(ops).toEqual(['Mul', 'Elu', 'HardSigmoid', 'Mul', 'Elu', 'HardSigmoid']);
    const [mul, elu, hs] = m.graph.nodes;
    expect(mul!.inputs[0]!.name).toBe('in');
    expect(hs!.outputs[0]!.name).toBe('mid');
    expect(elu!.attrs.get('alpha')).toEqual({ type: 'float', value: 2 });
    expect(hs!.attrs.get('beta')).toEqual({ type: 'float', value: 0.25 });
    // An attribute reference with neither a caller value nor a default is dropped (the op default applies).
    expect(hs!.attrs.has('alpha')).toBe(false);
    expect(elu!.metadata.get(INLINED_FROM)).toBe('local::Scale');
    expect(hs!.metadata.get(INLINED_FROM)).toBe('local::Block');
    expect(elu!.name).toMatch(/^b1__\d+\/scale__\d+\/elu$/);
    // Internal names of the two calls do not clash.
    expect(new Set(m.graph.nodes.map((n) => n.outputs[0]!.name)).size).toBe(6);
    expect(m.opsets.has('local')).toBe(false);
    expect(m.opsets.has('kept')).toBe(true);
    expect(m.unusedFunctions.length).toBe(1);
  });

  it('refuses recursive functions', () => {
    const rec = fn('Rec', ['x'], ['y'], [node('Rec', ['x'], ['y'], { domain: 'local' })]);
    const p = {
      ...emptyModelP(), irVersion: 8, opsetImport: [{ domain: '', version: 17 }, { domain: 'local', version: 1 }], functions: [rec],
      graph: { ...emptyGraphP(), input: [{ name: 'a', type: null, docString: '', metadata: [] }], node: [node('Rec', ['a'], ['b'], { domain: 'local', name: 'call' })], output: [{ name: 'b', type: null, docString: '', metadata: [] }] },
    };
    expect(() => decodeModelBytes(encodeModel(p))).toThrow(/calls itself/);
  });
});
