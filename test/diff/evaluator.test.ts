/**
 * The reference evaluator reproduces PyTorch's outputs (the zoo bundles) on the small zoo models. Tolerance:
 * |ours - torch| <= 1e-4 + 1e-3 * |torch|; torch accumulates in float32 in its own order while the evaluator
 * accumulates in float64, so differences scale with the magnitude of the sums, not of each output.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModelFile } from '../../src/frontend/onnx/node-fs.js';
import { evaluateModel } from '../../src/eval/evaluator.js';
import { parseBundle } from '../../src/ir/bundle.js';
import { committedModels, zooModels } from '../helpers/ort.js';

/** Models small enough for a naive evaluator (the large torchvision CNNs take minutes there). */
const SMALL = new Set(['bert', 'gpt', 'rnn', 'upsampler', 'unet_tiny', 'vit', 'convnext', 'swin', 'vae_decoder', 'squeezenet']);
const files = [...committedModels(), ...zooModels()].filter((f) => SMALL.has(path.basename(f, '.onnx')));

describe('reference evaluator against PyTorch', () => {
  it('has models to run', () => expect(files.length).toBeGreaterThanOrEqual(3));
  for (const file of files) {
    it(path.basename(file), () => {
      const m = loadModelFile(file);
      const b = parseBundle(fs.readFileSync(file.replace(/\.onnx$/, '.io.json'), 'utf8'));
      const out = evaluateModel(m, b.inputs);
      for (const [name, want] of b.outputs) {
        const got = out.get(name)!;
        expect(got.dims).toEqual(want.dims);
        const a = got.toArray() as Float32Array;
        const w = want.toArray() as Float32Array;
        let bad = -1;
        for (let i = 0; i < w.length && bad < 0; i++) if (!(Math.abs(a[i]! - w[i]!) <= 1e-4 + 1e-3 * Math.abs(w[i]!))) bad = i;
        expect(bad, bad >= 0 ? `${name}[${bad}]: ${a[bad]} vs ${w[bad]}` : '').toBe(-1);
      }
    });
  }
});
