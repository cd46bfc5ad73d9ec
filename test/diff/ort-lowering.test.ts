/**
 * Fused ops on the ONNX Runtime target: GELU (erf and tanh), SiLU and LayerNorm lowered to the EP's kernels, their
 * formulas where an EP has none, and the guard that keeps onnxruntime from forming SkipLayerNormalization on
 * cpu/wasm. Every compiled graph is run against the original on onnxruntime-node.
 */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Model } from '../../src/ir/model.js';
import type { Value } from '../../src/ir/value.js';
import { toMint } from '../../src/dialect/to-mint.js';
import { lowerToOnnx } from '../../src/dialect/lower.js';
import { inferShapes } from '../../src/dialect/ops/infer.js';
import { concatChunks, decodeModelBytes, encodeModelBytes } from '../../src/frontend/onnx/index.js';
import { compileForOrt } from '../../src/backends/ort/compile.js';
import { lowerFusedForOrt } from '../../src/backends/ort/lower-fused.js';
import { runPasses } from '../../src/passes/manager.js';
import { compareTensors } from '../../src/backends/ort/verify.js';
import { Tensor } from '../../src/ir/tensor.js';
import { f32 } from '../helpers/builder.js';
import { fusedBlock as block } from '../helpers/fused-block.js';
import { randomInputs, runOnnx } from '../helpers/ort.js';

const bytes = (m: Model) => concatChunks(encodeModelBytes(m).chunks);

async function close(a: Uint8Array, b: Uint8Array, m: Model) {
  const feeds = randomInputs(m, 3);
  const [x, y] = [await runOnnx(a, feeds), await runOnnx(b, feeds)];
  for (const [name, o] of x) {
    const t = (r: typeof o) => Tensor.fromBytes(f32, r.dims, r.bytes, name);
    const c = compareTensors(name, t(o), t(y.get(name)!), { rtol: 1e-4, atol: 1e-5 });
    expect(c.mismatches, `${name}: max abs ${c.maxAbs}`).toBe(0);
  }
}

const ops = (m: Model) => [...m.graph].map((n) => (n.domain && n.domain !== 'ai.onnx' ? `${n.domain}::${n.op}` : n.op));

describe('fused activations and LayerNorm on onnxruntime', () => {
  for (const opset of [14, 17]) {
    it(`opset ${opset}, cpu: com.microsoft Gelu, FastGelu, QuickGelu and LayerNormalization`, async () => {
      const original = block(opset);
      const r = compileForOrt(decodeModelBytes(original), { ep: 'cpu' });
      const seen = ops(r.model);
      expect(seen).toEqual(expect.arrayContaining(['com.microsoft::Gelu', 'com.microsoft::FastGelu', 'com.microsoft::QuickGelu', 'LayerNormalization']));
      expect(seen).not.toContain('Erf');
      expect(seen).not.toContain('Sigmoid');
      expect(seen).not.toContain('ReduceMean');
      const stats = Object.assign({}, ...r.passes.map((p) => p.stats));
      expect(stats).toMatchObject({ gelu: 2, silu: 1, layer_norm: 1 });
      await close(original, bytes(r.model), decodeModelBytes(original));
    });
  }

  it('an EP without the contrib kernels gets the formulas back', async () => {
    const original = block(17);
    const m = decodeModelBytes(original);
    toMint(m);
    inferShapes(m);
    runPasses(m, ['fuse-layer-norm', 'fuse-activations']);
    const low = lowerFusedForOrt(m, 'no-such-ep');
    expect(low).toMatchObject({ gelu: 2, silu: 1 });
    lowerToOnnx(m, { opset: 17 });
    const seen = ops(m);
    expect(seen.filter((o) => o.startsWith('com.microsoft'))).toEqual([]);
    expect(seen).toEqual(expect.arrayContaining(['Erf', 'Tanh', 'Sigmoid', 'LayerNormalization']));
    await close(original, bytes(m), decodeModelBytes(original));
  });

  it('cpu: the residual Add and LayerNormalization stay apart in onnxruntime (no SkipLayerNormalization)', async () => {
    const original = block(17);
    const r = compileForOrt(decodeModelBytes(original), { ep: 'cpu', shapes: { x: [2, 5, 16], r: [2, 5, 16] } });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-sln-'));
    const out = path.join(dir, 'opt.onnx');
    const model = bytes(r.model);
    const s = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'all', optimizedModelFilePath: out, logSeverityLevel: 4 });
    await s.release();
    const optimized = ops(decodeModelBytes(new Uint8Array(fs.readFileSync(out))));
    expect(optimized).toContain('LayerNormalization');
    expect(optimized.some((o) => o.endsWith('SkipLayerNormalization'))).toBe(false);
    // Without the guard (an EP that does not avoid it) onnxruntime does form it: the test can tell the difference.
    const unguarded = compileForOrt(decodeModelBytes(original), { ep: 'webgpu', shapes: { x: [2, 5, 16], r: [2, 5, 16] } });
    const s2 = await ort.InferenceSession.create(bytes(unguarded.model), { graphOptimizationLevel: 'all', optimizedModelFilePath: out, logSeverityLevel: 4 });
    await s2.release();
    expect(ops(decodeModelBytes(new Uint8Array(fs.readFileSync(out)))).some((o) => o.endsWith('SkipLayerNormalization'))).toBe(true);
    fs.rmSync(dir, { recursive: true, force: true });
    await close(original, model, decodeModelBytes(original));
  });
});
