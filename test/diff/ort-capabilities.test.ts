/**
 * The EP capability table is data that lowering trusts, so every contrib entry for an EP available here is loaded
 * and run: a one-node model per op on cpu (onnxruntime-node) and wasm (onnxruntime-web in Node). webgpu and cuda
 * cannot run here; their absence must be a clear error.
 */
import { describe, expect, it } from 'vitest';
import { Model } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';
import type { Attribute } from '../../src/ir/attribute.js';
import { concatChunks, encodeModelBytes } from '../../src/frontend/onnx/index.js';
import { EP_CAPABILITIES, epSupports } from '../../src/backends/ort/capabilities.js';
import { createSession, epUnavailable } from '../../src/backends/ort/session.js';
import { rng } from '../../src/backends/ort/inputs.js';
import { Builder, f32, i64 } from '../helpers/builder.js';
import { dtypeFromName } from '../../src/ir/dtype.js';

const i8 = dtypeFromName('int8')!;
const u8 = dtypeFromName('uint8')!;

/** Inputs are float32 unless marked 'i' (int64) or 'q' (int8). */
type Spec = { inputs: [string, number[], ('f' | 'i' | 'q' | 'u')?][]; attrs?: Record<string, Attribute>; outputs?: number };

const SPECS: Record<string, Spec> = {
  Attention: { inputs: [['input', [1, 4, 8]], ['weights', [8, 24]], ['bias', [24]]], attrs: { num_heads: { type: 'int', value: 2 } } },
  MultiHeadAttention: { inputs: [['query', [1, 4, 8]], ['key', [1, 4, 8]], ['value', [1, 4, 8]]], attrs: { num_heads: { type: 'int', value: 2 } } },
  SkipLayerNormalization: { inputs: [['input', [1, 4, 8]], ['skip', [1, 4, 8]], ['gamma', [8]], ['beta', [8]]] },
  SkipSimplifiedLayerNormalization: { inputs: [['input', [1, 4, 8]], ['skip', [1, 4, 8]], ['gamma', [8]]] },
  FastGelu: { inputs: [['x', [1, 4, 8]]] },
  BiasGelu: { inputs: [['a', [1, 4, 8]], ['b', [8]]] },
  Gelu: { inputs: [['x', [1, 4, 8]]] },
  QuickGelu: { inputs: [['x', [1, 4, 8]]], attrs: { alpha: { type: 'float', value: 1.702 } } },
  FusedConv: { inputs: [['x', [1, 2, 5, 5]], ['w', [3, 2, 3, 3]], ['b', [3]]], attrs: { activation: { type: 'string', value: 'Relu' } } },
  FusedGemm: { inputs: [['a', [2, 3]], ['b', [3, 4]], ['c', [4]]], attrs: { activation: { type: 'string', value: 'Relu' } } },
  FusedMatMul: { inputs: [['a', [2, 3]], ['b', [3, 4]]], attrs: { alpha: { type: 'float', value: 0.5 } } },
  RotaryEmbedding: { inputs: [['input', [1, 4, 8]], ['position_ids', [1, 4], 'i'], ['cos_cache', [4, 2]], ['sin_cache', [4, 2]]], attrs: { num_heads: { type: 'int', value: 2 } } },
  BiasAdd: { inputs: [['x', [1, 4, 8]], ['bias', [8]], ['skip', [1, 4, 8]]] },
  DynamicQuantizeMatMul: { inputs: [['a', [1, 4, 8]], ['b', [8, 6], 'q'], ['b_scale', [6]]] },
  MatMulNBits: {
    inputs: [['a', [1, 4, 32]], ['b', [6, 1, 16], 'u'], ['scales', [6]]],
    attrs: { K: { type: 'int', value: 32 }, N: { type: 'int', value: 6 }, bits: { type: 'int', value: 4 }, block_size: { type: 'int', value: 32 } },
  },
};

function oneNode(op: string, spec: Spec): Uint8Array {
  const b = new Builder(op);
  const ins = spec.inputs.map(([name, shape, kind]) => b.input(name, shape, kind === 'i' ? i64 : kind === 'q' ? i8 : kind === 'u' ? u8 : f32));
  const n = b.op(op, ins, { domain: 'com.microsoft', attrs: spec.attrs, outputs: spec.outputs ?? 1 });
  b.output(n.outputs[0]!);
  const m = new Model(b.graph, 8, new Map([['', 17], ['com.microsoft', 1]]));
  return concatChunks(encodeModelBytes(m).chunks);
}

describe('EP capability table', () => {
  it('every contrib op of cpu and wasm has a spec here', () => {
    for (const ep of ['cpu', 'wasm']) for (const op of EP_CAPABILITIES[ep]!.contrib) expect(SPECS[op], `${ep} ${op}`).toBeDefined();
  });

  for (const ep of ['cpu', 'wasm'] as const) {
    for (const op of EP_CAPABILITIES[ep]!.contrib) {
      it(`${ep}: com.microsoft.${op} loads and runs`, async () => {
        const bytes = oneNode(op, SPECS[op]!);
        const s = await createSession(bytes, { ep });
        const feeds = new Map<string, Tensor>();
        for (const [name, shape, kind] of SPECS[op]!.inputs) {
          const n = shape.reduce((a, x) => a * x, 1);
          const next = rng(n);
          const t = kind === 'i'
            ? Tensor.fromArray(i64, shape, BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 4)))
            : kind === 'q'
              ? Tensor.fromArray(i8, shape, Int8Array.from({ length: n }, () => Math.round(next() * 254 - 127)))
              : kind === 'u'
                ? Tensor.fromArray(u8, shape, Uint8Array.from({ length: n }, () => Math.floor(next() * 256)))
                : Tensor.fromArray(f32, shape, Float32Array.from({ length: n }, () => next() * 2 - 1));
          feeds.set(name, t);
        }
        const out = await s.run(feeds);
        await s.release();
        expect(out.size).toBeGreaterThan(0);
      });
    }
  }

  it('standard ops: cpu and wasm take every op, webgpu only its list; other domains nothing', () => {
    expect(epSupports('cpu', '', 'Conv')).toBe(true);
    expect(epSupports('webgpu', '', 'Conv')).toBe(true);
    expect(epSupports('webgpu', '', 'STFT')).toBe(false);
    expect(epSupports('cpu', 'com.microsoft', 'GroupNorm')).toBe(false);
    expect(epSupports('cuda', 'com.microsoft', 'GroupNorm')).toBe(true);
    expect(epSupports('cpu', 'org.example', 'Thing')).toBe(false);
  });

  it('the CUDA EP, absent here, is a clear error', async () => {
    expect(await epUnavailable('cuda')).toMatch(/CUDA binaries/);
  });
});
