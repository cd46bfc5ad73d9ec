/**
 * fold-batch-norm, fold-pad, merge-layout, RMSNorm and HardSwish fusion on small built graphs: each rewrites what it
 * should (and leaves what it must not), a second run reports no change and prints identically, and the compiled
 * graph computes what the original does on onnxruntime-node.
 */
import { describe, expect, it } from 'vitest';
import { Model } from '../../src/ir/model.js';
import type { Value } from '../../src/ir/value.js';
import type { Attribute } from '../../src/ir/attribute.js';
import { Tensor } from '../../src/ir/tensor.js';
import { toMint } from '../../src/dialect/to-mint.js';
import { inferShapes } from '../../src/dialect/ops/infer.js';
import { concatChunks, decodeModelBytes, encodeModelBytes } from '../../src/frontend/onnx/index.js';
import { compileForOrt } from '../../src/backends/ort/compile.js';
import { runPasses } from '../../src/passes/manager.js';
import { printGraph } from '../../src/ir/print.js';
import { compareTensors } from '../../src/backends/ort/verify.js';
import { Builder, f32, i64 } from '../helpers/builder.js';
import { randomInputs, runOnnx } from '../helpers/ort.js';

const bytes = (m: Model) => concatChunks(encodeModelBytes(m).chunks);
const ints = (value: number[]): Attribute => ({ type: 'ints', value });
const seq = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

async function sameOutputs(original: Uint8Array, compiled: Uint8Array) {
  const feeds = randomInputs(decodeModelBytes(original), 5);
  const [a, b] = [await runOnnx(original, feeds), await runOnnx(compiled, feeds)];
  for (const [name, o] of a) {
    const t = (r: typeof o) => Tensor.fromBytes(f32, r.dims, r.bytes, name);
    const c = compareTensors(name, t(o), t(b.get(name)!), { rtol: 1e-4, atol: 1e-5 });
    expect(c.mismatches, `${name}: max abs ${c.maxAbs}`).toBe(0);
  }
}

/** Compiles with `passes`, checks idempotence, returns the compiled op list, the pass stats and the bytes. */
async function compile(original: Uint8Array, passes: string) {
  const r = compileForOrt(decodeModelBytes(original), { passes, verifyEach: true });
  const stats = Object.assign({}, ...r.passes.map((p) => p.stats)) as Record<string, number>;
  const m = decodeModelBytes(original);
  toMint(m);
  inferShapes(m);
  runPasses(m, passes.split(','));
  const once = printGraph(m.graph);
  expect(runPasses(m, passes.split(',')).every((p) => !p.modified)).toBe(true);
  expect(printGraph(m.graph)).toBe(once);
  const out = bytes(r.model);
  await sameOutputs(original, out);
  return { ops: [...r.model.graph].map((n) => n.op), stats, model: r.model, nearMisses: r.passes.flatMap((p) => p.nearMisses ?? []).map((n) => n.reason) };
}

function convBn(transpose: boolean, extraUse = false): Uint8Array {
  const b = new Builder();
  const x = b.input('x', [1, 4, 8, 8]);
  const w = b.constant('w', seq(4 * 6 * 9, (i) => Math.sin(i)), transpose ? [4, 6, 3, 3] : [6, 4, 3, 3]);
  const bias = b.constant('b', seq(6, (i) => i / 10));
  const c = b.op(transpose ? 'ConvTranspose' : 'Conv', [x, w, bias], { attrs: { pads: ints([1, 1, 1, 1]) } }).outputs[0]!;
  const p = (n: string, f: (i: number) => number) => b.constant(n, seq(6, f));
  const y = b.op('BatchNormalization', [c, p('gamma', (i) => 1 + i / 7), p('beta', (i) => i / 5 - 0.3), p('mean', (i) => i / 3), p('var', (i) => 0.5 + i / 4)], { attrs: { epsilon: { type: 'float', value: 1e-5 } } }).outputs[0]!;
  if (extraUse) b.output(y, c);
  else b.output(y);
  return bytes(new Model(b.graph, 8, new Map([['', 17]])));
}

describe('fold-batch-norm', () => {
  for (const t of [false, true]) {
    it(`${t ? 'ConvTranspose' : 'Conv'} + BatchNormalization -> one ${t ? 'ConvTranspose' : 'Conv'} with folded weights`, async () => {
      const r = await compile(convBn(t), 'fold-batch-norm,dce');
      expect(r.stats.batch_norm_folded).toBe(1);
      expect(r.ops).toEqual([t ? 'ConvTranspose' : 'Conv']);
    });
  }
  it('keeps the BatchNorm when the convolution output is used elsewhere', async () => {
    const r = await compile(convBn(false, true), 'fold-batch-norm');
    expect(r.stats.batch_norm_folded).toBe(0);
    expect(r.ops).toContain('BatchNormalization');
  });
});

function padThen(kind: 'Conv' | 'AveragePool' | 'MaxPool', pads: number[], value = 0): Uint8Array {
  const b = new Builder();
  const x = b.input('x', [1, 3, 8, 8]);
  const p = b.op('Pad', [x, b.graph.addConstant('pads', Tensor.fromArray(i64, [8], BigInt64Array.from(pads.map(BigInt)), 'pads')), b.constant('v', [value], [])]).outputs[0]!;
  const attrs: Record<string, Attribute> = { kernel_shape: ints([3, 3]) };
  const ins: Value[] = [p];
  if (kind === 'Conv') ins.push(b.constant('w', seq(5 * 3 * 9, (i) => Math.cos(i)), [5, 3, 3, 3]));
  b.output(b.op(kind, ins, { attrs, outputs: 1 }).outputs[0]!);
  return bytes(new Model(b.graph, 8, new Map([['', 17]])));
}

describe('fold-pad', () => {
  it('zero Pad -> Conv pads', async () => {
    const r = await compile(padThen('Conv', [0, 0, 1, 2, 0, 0, 1, 2]), 'fold-pad');
    expect(r.stats.pad_folded).toBe(1);
    expect(r.ops).toEqual(['Conv']);
    expect((r.model.graph.nodes[0]!.attrs.get('pads')?.value as number[]).map(Number)).toEqual([1, 2, 1, 2]);
  });
  it('zero Pad -> AveragePool pads counted in the average', async () => {
    const r = await compile(padThen('AveragePool', [0, 0, 1, 1, 0, 0, 1, 1]), 'fold-pad');
    expect(r.ops).toEqual(['AveragePool']);
    expect(Number(r.model.graph.nodes[0]!.attrs.get('count_include_pad')?.value)).toBe(1);
  });
  it('-inf Pad -> MaxPool pads; a zero Pad stays before MaxPool, and says why', async () => {
    expect((await compile(padThen('MaxPool', [0, 0, 1, 1, 0, 0, 1, 1], -Infinity), 'fold-pad')).ops).toEqual(['MaxPool']);
    const zero = await compile(padThen('MaxPool', [0, 0, 1, 1, 0, 0, 1, 1], 0), 'fold-pad');
    expect(zero.ops).toEqual(['Pad', 'MaxPool']);
    expect(zero.nearMisses).toEqual([expect.stringMatching(/Pad into mint\.nn\.functional\.max_pool2d: it pads with 0, not -inf/)]);
  });
  it('a Pad of the channel dim stays, and says why', async () => {
    const r = await compile(padThen('AveragePool', [0, 1, 1, 1, 0, 0, 1, 1]), 'fold-pad');
    expect(r.ops).toEqual(['Pad', 'AveragePool']);
    expect(r.nearMisses).toEqual([expect.stringMatching(/pads the batch or channel dims/)]);
  });
});

describe('merge-layout', () => {
  it('Transpose pairs compose (and vanish when they cancel); Reshape pairs collapse', async () => {
    const b = new Builder();
    const x = b.input('x', [2, 3, 4, 5]);
    const t = (v: Value, p: number[]) => b.op('Transpose', [v], { attrs: { perm: ints(p) } }).outputs[0]!;
    const cancel = t(t(x, [0, 2, 1, 3]), [0, 2, 1, 3]);
    const composed = t(t(x, [0, 2, 3, 1]), [0, 2, 3, 1]);
    const shape = (n: string, s: number[]) => b.graph.addConstant(n, Tensor.fromArray(i64, [s.length], BigInt64Array.from(s.map(BigInt)), n));
    const r2 = b.op('Reshape', [b.op('Reshape', [x, shape('s1', [6, 20])]).outputs[0]!, shape('s2', [2, -1])]).outputs[0]!;
    b.output(b.op('Add', [cancel, x]).outputs[0]!, composed, r2);
    const r = await compile(bytes(new Model(b.graph, 8, new Map([['', 17]]))), 'merge-layout,dce');
    expect(r.stats).toMatchObject({ transposes_merged: 2, reshapes_merged: 1 });
    expect(r.ops.sort()).toEqual(['Add', 'Reshape', 'Transpose']);
  });
});

describe('RMSNorm and HardSwish', () => {
  it('x * rsqrt(mean(x^2) + eps) * w -> SimplifiedLayerNormalization; clamp chains -> HardSwish / HardSigmoid', async () => {
    const b = new Builder();
    const x = b.input('x', [2, 5, 16]);
    const c = (n: string, v: number) => b.constant(n, [v], []);
    const op = (o: string, ins: Value[], attrs?: Record<string, Attribute>) => b.op(o, ins, { attrs }).outputs[0]!;
    const ms = op('ReduceMean', [op('Pow', [x, c('two', 2)])], { axes: ints([-1]) });
    const rms = op('Mul', [op('Mul', [x, op('Reciprocal', [op('Sqrt', [op('Add', [ms, c('eps', 1e-6)])])])]), b.constant('w', seq(16, (i) => 1 + i / 16))]);
    const relu6 = (v: Value) => op('Clip', [op('Add', [v, c(`three_${v.name}`, 3)]), c(`lo_${v.name}`, 0), c(`hi_${v.name}`, 6)]);
    const hswish = op('Div', [op('Mul', [rms, relu6(rms)]), c('six', 6)]);
    const hsig = op('Div', [relu6(hswish), c('six2', 6)]);
    b.output(hsig);
    const r = await compile(bytes(new Model(b.graph, 8, new Map([['', 17]]))), 'fuse-rms-norm,fuse-activations');
    expect(r.stats).toMatchObject({ rms_norm: 1, hardswish: 1, hardsigmoid: 1 });
    expect(r.ops).toEqual(['SimplifiedLayerNormalization', 'HardSwish', 'HardSigmoid']);
  });
});

describe('Conv + activation on onnxruntime', () => {
  it('becomes com.microsoft.FusedConv with the activation parameters; a Conv read twice stays', async () => {
    const b = new Builder();
    const x = b.input('x', [1, 3, 8, 8]);
    const w = (n: string) => b.constant(n, seq(4 * 3 * 9, (i) => Math.sin(i / 3)), [4, 3, 3, 3]);
    const conv = (n: string, v: Value) => b.op('Conv', [v, w(n)], { attrs: { pads: ints([1, 1, 1, 1]) } }).outputs[0]!;
    const leaky = b.op('LeakyRelu', [conv('w1', x)], { attrs: { alpha: { type: 'float', value: 0.1 } } }).outputs[0]!;
    const clip = b.op('Clip', [conv('w2', x), b.constant('lo', [0], []), b.constant('hi', [6], [])]).outputs[0]!;
    const twice = conv('w3', x);
    b.output(leaky, clip, b.op('Add', [b.op('Relu', [twice]).outputs[0]!, twice]).outputs[0]!);
    const original = bytes(new Model(b.graph, 8, new Map([['', 17]])));
    const r = compileForOrt(decodeModelBytes(original), { ep: 'cpu' });
    const fused = [...r.model.graph].filter((n) => n.op === 'FusedConv');
    expect(fused.map((n) => n.attrs.get('activation')?.value)).toEqual(['LeakyRelu', 'Clip']);
    expect((fused[0]!.attrs.get('activation_params')?.value as number[]).map((v) => Math.fround(v))).toEqual([Math.fround(0.1)]);
    expect(fused[1]!.attrs.get('activation_params')?.value).toEqual([0, 6]);
    expect([...r.model.graph].filter((n) => n.op === 'Conv').length).toBe(1);
    expect(r.plan.lowering?.fused_conv).toBe(2);
    await sameOutputs(original, bytes(r.model));
  });
});
