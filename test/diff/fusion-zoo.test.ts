/**
 * On the zoo, every attention block, GroupNorm, LayerNorm and GELU of the diffusers-style UNet and VAE, the BERT- and
 * GPT-style models and the ViT is fused: the counts equal the number of such modules in the torch model (recorded by
 * the zoo exporter as `fusions_expected`).
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModelFile } from '../../src/frontend/onnx/node-fs.js';
import { toMint } from '../../src/dialect/to-mint.js';
import { inferShapes } from '../../src/dialect/ops/infer.js';
import { runPasses } from '../../src/passes/manager.js';
import { MINDSPORE_PIPELINE } from '../../src/passes/registry.js';
import { MODELS_DIR, ZOO_DIR } from '../helpers/ort.js';
import { msgraph } from '../helpers/cli.js';

const manifestFile = path.join(ZOO_DIR, 'manifest.json');
const manifest: Record<string, { fusions_expected?: Record<string, number> }> = fs.existsSync(manifestFile) ? JSON.parse(fs.readFileSync(manifestFile, 'utf8')) : {};

describe.skipIf(!fs.existsSync(manifestFile))('fusion counts on the zoo', () => {
  for (const name of ['unet', 'unet_tiny', 'vae_decoder', 'bert', 'gpt', 'vit']) {
    it(`${name}: attention, GroupNorm, LayerNorm and GELU counts equal the torch modules`, () => {
      const want = manifest[name]!.fusions_expected!;
      const m = loadModelFile(path.join(ZOO_DIR, `${name}.onnx`));
      toMint(m);
      inferShapes(m);
      const recs = runPasses(m, MINDSPORE_PIPELINE, { verifyEach: true });
      const stat = (k: string) => recs.reduce((s, r) => s + (r.stats[k] ?? 0), 0);
      const got = {
        attention: stat('attention'),
        group_norm: stat('group_norm'),
        layer_norm: m.graph.nodes.filter((n) => n.op === 'mint.nn.functional.layer_norm').length,
        gelu: stat('gelu') + m.graph.nodes.filter((n) => n.op === 'mint.nn.functional.gelu' && n.name.endsWith('/Gelu')).length,
      };
      expect(got).toEqual({ attention: want.attention, group_norm: want.group_norm, layer_norm: want.layer_norm, gelu: want.gelu });
      // Nothing that looked like attention was left behind (multi-head attention may stay 4-D: GPT's boolean
      // causal mask, the ViT's sequence-first nn.MultiheadAttention).
      expect(recs.flatMap((r) => r.nearMisses ?? []).filter((n) => !n.reason.startsWith('multi-head attention:'))).toEqual([]);
      // A second run finds nothing more.
      expect(runPasses(m, MINDSPORE_PIPELINE).every((r) => !r.modified)).toBe(true);
    });
  }
});

describe('inspect --fusions', () => {
  it('counts what the fusion passes find and lists near-misses', () => {
    const r = msgraph(['inspect', path.join(MODELS_DIR, 'unet_tiny.onnx'), '--fusions', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.fusions.counts).toMatchObject({ attention: 14, multi_head_attention: 14, group_norm: 24, gelu: 7 });
    expect(j.fusions.nearMisses).toEqual([]);
    const text = msgraph(['inspect', path.join(MODELS_DIR, 'unet_tiny.onnx'), '--fusions', '--depth', '0']);
    expect(text.stdout).toMatch(/^ {2}fusions {6}group_norm 24, .*attention 14/m);
  });
});
