import { describe, expect, it } from 'vitest';
import { Builder, f32, i64 } from '../helpers/builder.js';
import { Model } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';
import { lowerToOnnx, MINT_DOMAIN, onnxOpOf, toMint, dialectTable } from '../../src/dialect/index.js';
import { concatChunks, encodeModelBytes } from '../../src/frontend/onnx/index.js';
import { verify } from '../../src/ir/verify.js';
import { runOnnx, sameBytes } from '../helpers/ort.js';
import { tensorFromValues } from '../../src/ir/bundle.js';
import { DIALECT_OPS } from '../../src/dialect/op-names.js';
import * as FUSED from '../../src/dialect/fused.js';

const int = (v: number) => ({ type: 'int' as const, value: v });
const ints = (v: number[]) => ({ type: 'ints' as const, value: v });
const i64c = (b: Builder, name: string, vals: number[]) => b.graph.addConstant(name, Tensor.fromArray(i64, [vals.length], new BigInt64Array(vals.map(BigInt)), name));
const model = (b: Builder, opset: number) => new Model(b.graph, 8, new Map([['', opset]]));

describe('mint dialect', () => {
  it('names ops after MindSpore APIs and maps every name back to one ONNX op', () => {
    for (const [name, ops] of dialectTable()) {
      expect(name).toMatch(/^(mint|ops|msgraph)\./);
      expect(onnxOpOf(name, 17)).toBeDefined();
      if (ops.length > 1) expect(['mint.nn.functional.interpolate', 'mint.scatter']).toContain(name);
    }
    expect(onnxOpOf('mint.nn.functional.conv2d', 17)).toBe('Conv');
    expect(onnxOpOf('mint.nn.functional.interpolate', 9)).toBe('Upsample');
    expect(onnxOpOf('mint.nn.functional.interpolate', 10)).toBe('Resize');
  });

  it('turns constant operands into attributes and puts them back per target opset', () => {
    const b = new Builder();
    const x = b.input('x', [2, 1, 3]);
    const sq = b.op('Squeeze', [x, i64c(b, 'axes', [1])], { name: 'sq' });
    b.output(sq.output);
    const m = model(b, 13);
    toMint(m);
    expect(sq.domain).toBe(MINT_DOMAIN);
    expect(sq.op).toBe('mint.squeeze');
    expect(sq.attrs.get('axes')).toEqual(ints([1]));
    expect(sq.inputs).toEqual([x]);
    lowerToOnnx(m, { opset: 11 });
    expect(sq.op).toBe('Squeeze');
    expect(sq.attrs.get('axes')).toEqual(ints([1]));
    expect(sq.inputs.length).toBe(1);
    expect(m.opset('')).toBe(11);
    toMint(m);
    lowerToOnnx(m, { opset: 13 });
    expect(sq.attrs.has('axes')).toBe(false);
    expect(sq.inputs.length).toBe(2);
    expect(Array.from(sq.inputs[1]!.const!.toArray() as BigInt64Array)).toEqual([1n]);
    verify(m.graph);
  });

  it('keeps run-time operands as inputs and refuses to lower them into attributes', () => {
    const b = new Builder();
    const x = b.input('x', [2, 1, 3]);
    const axes = b.input('axes', [1], i64);
    const sq = b.op('Squeeze', [x, axes], { name: 'sq' });
    b.output(sq.output);
    const m = model(b, 13);
    toMint(m);
    expect(sq.inputs[1]).toBe(axes);
    expect(() => lowerToOnnx(m, { opset: 11 })).toThrow(/axes is only known at run time/);
  });

  it('spells out opset-dependent semantics', () => {
    const b = new Builder();
    const x = b.input('x', [2, 3, 4]);
    const sm = b.op('Softmax', [x], { name: 'sm' });
    b.output(sm.output);
    const m = model(b, 11);
    toMint(m);
    expect(sm.op).toBe('mint.softmax');
    expect(sm.attrs.get('axis')).toEqual(int(1));
    expect(sm.attrs.get('coerce_2d')).toEqual(int(1));
    expect(() => lowerToOnnx(model(b, 13), { opset: 13 })).toThrow(/2-D coercion/);
    lowerToOnnx(m, { opset: 11 });
    expect(sm.attrs.has('coerce_2d')).toBe(false);
  });

  it('moves a run-time Resize scales input to its newest position and back', () => {
    const b = new Builder();
    const x = b.input('x', [1, 1, 2, 2]);
    const s = b.input('s', [4]);
    const r = b.op('Resize', [x, s], { name: 'r' });
    b.output(r.output);
    const m = model(b, 10);
    toMint(m);
    expect(r.op).toBe('mint.nn.functional.interpolate');
    expect(r.inputs[1]).toBeNull();
    expect(r.inputs[2]).toBe(s);
    expect(r.attrs.get('coordinate_transformation_mode')).toEqual({ type: 'string', value: 'asymmetric' });
    lowerToOnnx(m);
    expect(r.inputs).toEqual([x, s]);
    expect(r.attrs.has('coordinate_transformation_mode')).toBe(false);
  });

  it('turns CastLike with a known target type into a cast and leaves unknown ops alone', () => {
    const b = new Builder();
    const x = b.input('x', [3]);
    const like = b.input('like', [1], i64);
    const c = b.op('CastLike', [x, like], { name: 'c' });
    const u = b.op('Mystery', [c.output], { name: 'u', domain: 'com.example' });
    b.output(u.output);
    const m = model(b, 17);
    const stats = toMint(m);
    expect(c.op).toBe('ops.cast');
    expect(c.attrs.get('to')).toEqual(int(7));
    expect(c.inputs).toEqual([x]);
    expect(stats.kept.get('com.example::Mystery')).toBe(1);
    expect(u.domain).toBe('com.example');
  });

  it('lowers to another opset with the same results on onnxruntime', async () => {
    const b = new Builder();
    const x = b.input('x', [2, 3, 4]);
    const mean = b.op('ReduceMean', [x], { name: 'mean', attrs: { axes: ints([1, 2]), keepdims: int(1) } });
    const clip = b.op('Clip', [mean.output], { name: 'clip', attrs: { min: { type: 'float', value: -0.1 }, max: { type: 'float', value: 0.1 } } });
    const sq = b.op('Squeeze', [clip.output], { name: 'sq', attrs: { axes: ints([2]) } });
    b.output(sq.output);
    for (const v of [x, mean.output, clip.output, sq.output]) v.type ??= { kind: 'tensor', dtype: f32, shape: null };
    x.type = { kind: 'tensor', dtype: f32, shape: [2, 3, 4] };
    sq.output.type = { kind: 'tensor', dtype: f32, shape: [2, 1] };
    const m = model(b, 10);
    const feeds = new Map([['x', tensorFromValues(f32, [2, 3, 4], Array.from({ length: 24 }, (_, i) => Math.sin(i)))]]);
    const before = await runOnnx(concatChunks(encodeModelBytes(m).chunks), feeds);
    toMint(m);
    lowerToOnnx(m, { opset: 18 });
    expect(mean.inputs.length).toBe(2);
    expect(clip.inputs.length).toBe(3);
    const after = await runOnnx(concatChunks(encodeModelBytes(m).chunks), feeds);
    expect(sameBytes(after.get(sq.output.name)!.bytes, before.get(sq.output.name)!.bytes)).toBe(true);
  });
});

describe('dialect op names as a type', () => {
  it('DIALECT_OPS is every name the op tables give, the spatial forms and the fused ops, nothing else', () => {
    const names = new Set<string>(dialectTable().keys());
    for (const d of [1, 2, 3]) {
      for (const p of ['mint.nn.functional.conv', 'mint.nn.functional.conv_transpose', 'mint.nn.functional.max_pool', 'mint.nn.functional.avg_pool', 'msgraph.lp_pool']) names.add(`${p}${d}d`);
    }
    for (const v of Object.values(FUSED)) names.add(v);
    expect([...DIALECT_OPS].sort()).toEqual([...names].sort());
  });
});
