/**
 * Packages at input sizes other than the export's: the zoo models (exported with their batch, spatial and sequence
 * dims free) run under the stand-in (standin/mindspore, NOT MindSpore) at new sizes and are compared with the PyTorch
 * module itself run at those sizes (models/zoo/at_size.py rebuilds it with the export's seed, so the same weights).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModelFile } from '../../src/frontend/onnx/node-fs.js';
import { buildMindSporePackage } from '../../src/backends/mindspore/package.js';
import { parseBundle } from '../../src/ir/bundle.js';
import { ZOO_DIR } from '../helpers/ort.js';
import { HAS_TORCH, PY, relError, runStandin, writePackage } from '../helpers/standin.js';

const AT_SIZE = path.resolve(import.meta.dirname, '../../models/zoo/at_size.py');
const manifestFile = path.join(ZOO_DIR, 'manifest.json');
const manifest = fs.existsSync(manifestFile) ? (JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Record<string, { file: string }>) : {};

/** Zoo model -> input sizes unlike the export's (batch 2 where the export had 1; other spatial and sequence sizes). */
const SIZES: Record<string, Record<string, string>> = {
  unet: { sample: '2,4,24,32', timestep: '2', encoder_hidden_states: '2,13,32' },
  // Exported with every size fixed (16x16, 8 tokens, batch 1): the free-dims pass re-derives what the export froze.
  unet_static: { sample: '2,4,24,32', timestep: '2', encoder_hidden_states: '2,13,32' },
  mid_block: { hidden_states: '1,64,6,10', temb: '1,128' },
  vae_decoder: { latent: '2,4,6,10' },
  vae_static: { latent: '2,4,6,10' },
  resnet18: { input: '2,3,48,80' },
  mobilenet_v3_small: { input: '2,3,48,80' },
  efficientnet_b0: { input: '2,3,48,80' },
  shufflenet: { input: '2,3,48,80' },
  convnext: { input: '2,3,48,80' },
  // Exported with only the batch free (64x64 fixed in the file): its sizes flow through convolutions and pooling.
  squeezenet: { input: '2,3,48,80' },
  swin: { input: '2,3,48,80' },
  bert: { input_ids: '3,20', attention_mask: '3,20' },
  bert_static: { input_ids: '3,20', attention_mask: '3,20' },
  gpt: { input_ids: '2,10' },
  rnn: { tokens: '3,11' },
  upsampler: { input: '2,3,12,20' },
};

describe.skipIf(!HAS_TORCH || !Object.keys(manifest).length)('packages at other input sizes (zoo, against PyTorch at those sizes)', () => {
  for (const [name, sizes] of Object.entries(SIZES)) {
    it.skipIf(!manifest[name])(`${name} at ${Object.values(sizes).map((s) => `[${s}]`).join(' ')}`, () => {
      const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-size-')), 'ref.json');
      const r = spawnSync(PY, [AT_SIZE, name, out, ...Object.entries(sizes).map(([k, v]) => `${k}=${v}`)], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      const ref = parseBundle(fs.readFileSync(out, 'utf8'), out);
      const file = path.join(ZOO_DIR, manifest[name]!.file);
      const pkg = buildMindSporePackage(loadModelFile(file), { source: manifest[name]!.file });
      const run = runStandin(writePackage(pkg.files), ref.inputs);
      for (const [o, want] of ref.outputs) expect(relError(want, run.outputs.get(o)!), o).toBeLessThanOrEqual(1e-4);
    });
  }
});
