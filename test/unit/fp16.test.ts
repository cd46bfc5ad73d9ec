/**
 * fp16 compute (fp16.ts): which nodes run in float16, where the float32 islands and their casts are, constants
 * clamped to float16's range, graph inputs and outputs keeping their dtype (or not, with io16), values read by an
 * If branch staying float32; the result runs on onnxruntime and stays close to the float32 graph. And int4 blocks
 * (quantize.ts): the packing MatMulNBits reads, and every weight within half a step.
 */
import { describe, expect, it } from 'vitest';
import { Builder, f32 } from '../helpers/builder.js';
import { Model } from '../../src/ir/model.js';
import { Graph } from '../../src/ir/graph.js';
import { Node } from '../../src/ir/node.js';
import { Tensor } from '../../src/ir/tensor.js';
import { dtypeFromName } from '../../src/ir/dtype.js';
import { computeFp16, halfIo } from '../../src/backends/ort/fp16.js';
import { INT4_BLOCK, quantizeInt4Blocks } from '../../src/backends/ort/quantize.js';
import { inferShapes } from '../../src/dialect/ops/infer.js';
import { concatChunks, decodeModelBytes, encodeModelBytes } from '../../src/frontend/onnx/index.js';
import { verifyProblems } from '../../src/ir/verify.js';
import { runOnnx, rng } from '../helpers/ort.js';
import { compareTensors } from '../../src/backends/ort/compare.js';

const F16 = dtypeFromName('float16')!;
const dtypeOfOut = (n: Node) => (n.outputs[0]?.type?.kind === 'tensor' ? n.outputs[0].type.dtype?.name : undefined);

/** x -> MatMul -> Softmax -> MatMul -> Add(mask) -> Relu -> [c]; ReduceMean(c) -> Add(eps) -> [e]. */
function islandGraph(): Model {
  const r = rng(3);
  const b = new Builder('islands');
  const x = b.input('x', [2, 8]);
  const w1 = b.constant('w1', Array.from({ length: 64 }, () => r() - 0.5), [8, 8]);
  const w2 = b.constant('w2', Array.from({ length: 64 }, () => r() - 0.5), [8, 8]);
  const mask = b.constant('mask', [0, 0, 0, -3.4e38, 0, 0, 0, 0], [8]);
  const eps = b.constant('eps', [1e-6], []);
  const a = b.op('MatMul', [x, w1], { name: 'mm1' }).outputs[0]!;
  const s = b.op('Softmax', [a], { name: 'softmax', attrs: { axis: { type: 'int', value: -1 } } }).outputs[0]!;
  const m2 = b.op('MatMul', [s, w2], { name: 'mm2' }).outputs[0]!;
  const masked = b.op('Add', [m2, mask], { name: 'masked' }).outputs[0]!;
  // Relu sends the masked (hugely negative) entry to 0 in both precisions.
  const c = b.op('Relu', [masked], { name: 'relu' }).outputs[0]!;
  const rm = b.op('ReduceMean', [c], { name: 'mean', attrs: { axes: { type: 'ints', value: [-1] } } }).outputs[0]!;
  const e = b.op('Add', [rm, eps], { name: 'plus_eps' }).outputs[0]!;
  c.name = 'c';
  e.name = 'e';
  b.output(c, e);
  const m = new Model(b.graph, 8, new Map([['', 17]]));
  inferShapes(m);
  return m;
}

const bytesOf = (m: Model) => concatChunks(encodeModelBytes(m).chunks);

describe('fp16 compute', () => {
  it('heavy ops in float16, softmax and reductions in float32, the element-wise tail of an island follows it', () => {
    const m = islandGraph();
    const r = computeFp16(m);
    expect(verifyProblems(m.graph)).toEqual([]);
    const byName = new Map([...m.graph].map((n) => [n.name, n]));
    expect(dtypeOfOut(byName.get('mm1')!)).toBe('float16');
    expect(dtypeOfOut(byName.get('softmax')!)).toBe('float32');
    expect(dtypeOfOut(byName.get('mm2')!)).toBe('float16');
    expect(dtypeOfOut(byName.get('masked')!)).toBe('float16');
    expect(dtypeOfOut(byName.get('relu')!)).toBe('float16');
    expect(dtypeOfOut(byName.get('mean')!)).toBe('float32');
    // eps is added in float32 (1e-6 would survive float16 here, 1e-12 would not): the island's tail stays float32.
    expect(dtypeOfOut(byName.get('plus_eps')!)).toBe('float32');
    expect(byName.get('plus_eps')!.inputs[1]!.const!.dtype.name).toBe('float32');
    // Casts: x -> mm1, mm1 -> softmax, softmax -> mm2, relu -> mean; the last one is also the graph output c.
    expect([...m.graph].filter((n) => n.op === 'Cast').length).toBe(4);
    expect(r.casts).toBe(4);
    expect(r.fp16_nodes).toBe(4);
    // The mask's -3.4e38 is clamped to -65504 in its float16 copy, not turned into -inf.
    expect(r.clamped).toEqual(['mask']);
    const half = byName.get('masked')!.inputs[1]!;
    expect(half.const!.dtype).toBe(F16);
    expect([...(half.const!.toArray() as Uint16Array)][3]).toBe(0xfbff);
    // Outputs keep names and dtypes.
    expect(m.graph.outputs.map((v) => [v.name, v.type?.kind === 'tensor' && v.type.dtype?.name])).toEqual([['c', 'float32'], ['e', 'float32']]);
  });

  it('runs on onnxruntime within float16 error of the float32 graph', async () => {
    const feeds = new Map([['x', Tensor.fromArray(f32, [2, 8], Float32Array.from({ length: 16 }, (_, i) => Math.sin(i) * 2))]]);
    const want = await runOnnx(bytesOf(islandGraph()), feeds);
    const m = islandGraph();
    computeFp16(m);
    const got = await runOnnx(bytesOf(m), feeds);
    for (const [name, w] of want) {
      const g = got.get(name)!;
      expect(g.dtype).toBe('float32');
      const cmp = compareTensors(name, Tensor.fromBytes(f32, w.dims, w.bytes), Tensor.fromBytes(f32, g.dims, g.bytes), { rtol: 1e-2, atol: 0 });
      expect(cmp.ok, `${name}: max rel ${cmp.maxRel}`).toBe(true);
    }
  });

  it('io16: float inputs and outputs become float16; keep names a heavy op kept in float32', () => {
    const m = islandGraph();
    const r = computeFp16(m, ['mm2'], true);
    expect(r.kept).toEqual(['mm2']);
    expect(m.graph.inputs[0]!.type).toMatchObject({ dtype: F16 });
    expect(m.graph.outputs.map((v) => v.type?.kind === 'tensor' && v.type.dtype?.name)).toEqual(['float16', 'float16']);
    expect(m.graph.outputs.map((v) => v.name)).toEqual(['c', 'e']);
    const mm2 = [...m.graph].find((n) => n.name === 'mm2')!;
    expect(dtypeOfOut(mm2)).toBe('float32');
    expect(verifyProblems(m.graph)).toEqual([]);
    // A round trip through the encoder keeps it valid.
    expect(verifyProblems(decodeModelBytes(bytesOf(m)).graph)).toEqual([]);
  });

  it('halfIo casts float32 inputs up and outputs down under their own names', async () => {
    const m = islandGraph();
    expect(halfIo(m)).toBe(3);
    expect(m.graph.outputs.map((v) => v.name)).toEqual(['c', 'e']);
    const feeds = new Map([['x', Tensor.fromArray(F16, [2, 8], new Uint16Array(16).fill(0x3c00))]]);
    const out = await runOnnx(bytesOf(m), feeds);
    expect([...out.values()].map((o) => o.dtype)).toEqual(['float16', 'float16']);
  });

  it('a value an If branch reads from the outer graph is given to it in float32', () => {
    const b = new Builder('outer');
    const x = b.input('x', [2, 2]);
    const cond = b.input('cond', [], dtypeFromName('bool')!);
    const w = b.constant('w', [1, 0, 0, 1], [2, 2]);
    const h = b.op('MatMul', [x, w], { name: 'mm' }).outputs[0]!;
    const branch = (op: string) => {
      const g = new Graph(op);
      const n = new Node({ op, name: `${op}_in_branch`, inputs: [h] });
      n.outputs[0]!.name = `${op}_out`;
      n.outputs[0]!.type = { kind: 'tensor', dtype: f32, shape: [2, 2] };
      g.append(n);
      g.outputs.push(n.outputs[0]!);
      return g;
    };
    const iff = b.op('If', [cond], { name: 'if', attrs: { then_branch: { type: 'graph', value: branch('Relu') }, else_branch: { type: 'graph', value: branch('Neg') } } });
    iff.outputs[0]!.type = { kind: 'tensor', dtype: f32, shape: [2, 2] };
    b.output(iff.outputs[0]!);
    const m = new Model(b.graph, 8, new Map([['', 17]]));
    inferShapes(m);
    computeFp16(m);
    expect(verifyProblems(m.graph)).toEqual([]);
    expect(dtypeOfOut([...m.graph].find((n) => n.name === 'mm')!)).toBe('float16');
    for (const g of [...m.graph].find((n) => n.op === 'If')!.subgraphs()) {
      const read = g.first!.inputs[0]!;
      expect(read.producer?.op).toBe('Cast');
      expect(read.type).toMatchObject({ dtype: f32 });
    }
  });
});

describe('int4 blocks', () => {
  it('packs two values a byte (even element low), one scale and zero point per block of 32; K padded', () => {
    const k = 40;
    const n = 3;
    const r = rng(5);
    const w = Float32Array.from({ length: k * n }, () => r() * 2 - 0.7);
    const { q, scale, zeroPoints, blocks } = quantizeInt4Blocks(w, k, n, false);
    expect(blocks).toBe(2);
    expect(q.length).toBe(n * blocks * (INT4_BLOCK / 2));
    expect(zeroPoints.length).toBe(n);
    const nibble = (bytes: Uint8Array, i: number) => (bytes[i >> 1]! >> ((i & 1) * 4)) & 15;
    for (let j = 0; j < n; j++) {
      for (let b = 0; b < blocks; b++) {
        const s = scale[j * blocks + b]!;
        const zp = nibble(zeroPoints, j * 2 + b);
        for (let i = 0; i < INT4_BLOCK; i++) {
          const v = nibble(q, (j * blocks + b) * INT4_BLOCK + i);
          const kk = b * INT4_BLOCK + i;
          if (kk < k) expect(Math.abs((v - zp) * s - w[kk * n + j]!)).toBeLessThanOrEqual(s / 2 + 1e-6);
          else expect(v).toBe(zp);
        }
      }
    }
    // The transposed layout ([N, K], Gemm transB=1) gives the same blocks.
    const t = new Float32Array(k * n);
    for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) t[j * k + i] = w[i * n + j]!;
    const tq = quantizeInt4Blocks(t, k, n, true);
    expect(tq.q).toEqual(q);
    expect(tq.scale).toEqual(scale);
  });
});
