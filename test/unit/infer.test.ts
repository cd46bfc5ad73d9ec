import { describe, expect, it } from 'vitest';
import { Builder, f32, i64 } from '../helpers/builder.js';
import { Model } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';
import { inferShapes } from '../../src/dialect/ops/infer.js';
import { formatType } from '../../src/ir/shape.js';
import type { Attribute } from '../../src/ir/attribute.js';

const ints = (v: number[]): Attribute => ({ type: 'ints', value: v });
const int = (v: number): Attribute => ({ type: 'int', value: v });
const i64c = (b: Builder, name: string, vals: number[], dims = [vals.length]) =>
  b.graph.addConstant(name, Tensor.fromArray(i64, dims, new BigInt64Array(vals.map(BigInt)), name));

function run(b: Builder, opset = 17) {
  const m = new Model(b.graph, 8, new Map([['', opset]]));
  return { m, r: inferShapes(m) };
}

describe('shape inference', () => {
  it('resolves Shape -> Gather -> Mul -> Concat -> Reshape chains to symbolic shapes', () => {
    const b = new Builder();
    const x = b.input('x', ['batch', 'seq', 4, 16]);
    const shape = b.op('Shape', [x]);
    const s1 = b.op('Gather', [shape.output, i64c(b, 'one', [1], [])], { attrs: { axis: int(0) } });
    const s2 = b.op('Gather', [shape.output, i64c(b, 'two', [2], [])], { attrs: { axis: int(0) } });
    const prod = b.op('Mul', [s1.output, s2.output]);
    const u = b.op('Unsqueeze', [prod.output, i64c(b, 'ax', [0])]);
    const s0 = b.op('Slice', [shape.output, i64c(b, 'st', [0]), i64c(b, 'en', [1])]);
    const cat = b.op('Concat', [s0.output, u.output, i64c(b, 'last', [-1])], { attrs: { axis: int(0) } });
    const y = b.op('Reshape', [x, cat.output]);
    b.output(y.output);
    const { r } = run(b);
    expect(formatType(y.output.type)).toBe('float32[batch,seq*4,16]');
    expect(r.known.get(cat.output)?.elems).toEqual(['batch', 'seq*4', -1]);
    expect(r.unknown).toEqual([]);
  });

  it('infers convolution and pooling output sizes symbolically', () => {
    const b = new Builder();
    const x = b.input('x', ['n', 3, 'h', 'w']);
    const w = b.graph.addConstant('w', Tensor.fromArray(f32, [8, 3, 3, 3], new Float32Array(216)));
    const c = b.op('Conv', [x, w], { attrs: { strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) } });
    const p = b.op('MaxPool', [c.output], { attrs: { kernel_shape: ints([2, 2]), strides: ints([2, 2]), ceil_mode: int(1) } });
    b.output(p.output);
    run(b);
    expect(formatType(c.output.type)).toBe('float32[n,8,floor((h - 1)/2) + 1,floor((w - 1)/2) + 1]');
    expect(formatType(p.output.type)).toBe('float32[n,8,ceil((floor((h - 1)/2) - 1)/2) + 1,ceil((floor((w - 1)/2) - 1)/2) + 1]');
  });

  it('reports an op outside the tables with node, op, domain and opset', () => {
    const b = new Builder();
    const x = b.input('x');
    const n = b.op('FancyOp', [x], { name: 'fancy', domain: 'com.example' });
    b.output(n.output);
    const { r } = run(b);
    expect(r.unsupported).toEqual([{ kind: 'not-in-tables', node: 'fancy', op: 'FancyOp', domain: 'com.example', opset: 1, reason: 'op is not in the tables' }]);
    expect(r.unknown).toContain(n.output);
  });

  it('reports an opset outside a mapping range', () => {
    const b = new Builder();
    const n = b.op('Gelu', [b.input('x')], { name: 'g' });
    b.output(n.output);
    const { r } = run(b, 17);
    expect(r.unsupported[0]!.reason).toMatch(/opset 17 is outside the tables' ranges \(20-24\)/);
  });

  it('fails on contradictory shapes, naming node, op and shapes', () => {
    const b = new Builder();
    const a = b.input('a', [2, 3]);
    const c = b.input('c', [4, 3]);
    const n = b.op('Add', [a, c], { name: 'bad_add' });
    b.output(n.output);
    expect(() => run(b)).toThrow(/Add \(opset 17\): cannot broadcast shapes \[2,3\] and \[4,3\]; inputs \(float32\[2,3\], float32\[4,3\]\)/);
    try {
      run(b);
    } catch (e) {
      expect((e as { node?: string }).node).toBe('bad_add');
    }
  });

  it('fails on a wrong number of inputs and on MatMul inner-dim mismatches', () => {
    const b = new Builder();
    const a = b.input('a', [2, 3]);
    const n = b.op('MatMul', [a, a], { name: 'mm' });
    b.output(n.output);
    expect(() => run(b)).toThrow(/inner dims differ/);
    const b2 = new Builder();
    const x = b2.input('x');
    b2.output(b2.op('Relu', [x, x], { name: 'r' }).output);
    expect(() => run(b2)).toThrow(/takes 1 inputs, got 2/);
  });

  it('checks inferred shapes against the value_info the file declares', () => {
    const b = new Builder();
    const x = b.input('x', [2, 3]);
    const n = b.op('Transpose', [x], { name: 't' });
    n.output.type = { kind: 'tensor', dtype: f32, shape: [2, 3] };
    b.output(n.output);
    expect(() => run(b)).toThrow(/inferred \[3,2\] but the file declares \[2,3\]/);
  });

  it('selects the If branch whose condition is known and skips the dead one', () => {
    const b = new Builder();
    const x = b.input('x', ['n', 5]);
    const shape = b.op('Shape', [x]);
    const r0 = b.op('Gather', [shape.output, i64c(b, 'i', [1], [])], { attrs: { axis: int(0) } });
    const eq = b.op('Equal', [r0.output, i64c(b, 'five', [5], [])]);
    const thenG = new Builder('then');
    const t = thenG.op('Identity', [x]);
    thenG.output(t.output);
    const elseG = new Builder('else');
    const e = elseG.op('Squeeze', [x, i64c(elseG, 'ax', [1])]);
    elseG.output(e.output);
    const iff = b.op('If', [eq.output], { attrs: { then_branch: { type: 'graph', value: thenG.graph }, else_branch: { type: 'graph', value: elseG.graph } } });
    b.output(iff.output);
    const { r } = run(b);
    expect(formatType(iff.output.type)).toBe('float32[n,5]');
    expect(r.dead.has(elseG.graph)).toBe(true);
    expect(r.unknown).toEqual([]);
  });

  it('gives data-dependent sizes fresh symbols instead of unknowns', () => {
    const b = new Builder();
    const nz = b.op('NonZero', [b.input('x', [3, 4])]);
    b.output(nz.output);
    const { r } = run(b);
    expect(formatType(nz.output.type)).toMatch(/^int64\[2,nonzero_\d+\]$/);
    expect(r.unknown).toEqual([]);
  });
});
