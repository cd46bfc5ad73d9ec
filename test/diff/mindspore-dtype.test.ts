/**
 * Half-precision ports (`--dtype float16|bfloat16`) under the stand-in (standin/mindspore, NOT MindSpore): weights and
 * activations in the half type, float32 islands (softmax, norms, sinusoids), graph inputs as the caller gives them (a
 * float32 timestep); compared with PyTorch's float32 outputs relative to the output's magnitude.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModelFile } from '../../src/frontend/onnx/node-fs.js';
import { buildMindSporePackage } from '../../src/backends/mindspore/package.js';
import { parseBundle } from '../../src/ir/bundle.js';
import { fromTensor, num } from '../../src/ir/array.js';
import { ZOO_DIR } from '../helpers/ort.js';
import { HAS_TORCH, packageText, runStandin, writePackage } from '../helpers/standin.js';

const manifestFile = path.join(ZOO_DIR, 'manifest.json');
const manifest = fs.existsSync(manifestFile) ? (JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Record<string, { file: string; bundle: string }>) : {};
/** The bounds: max |got - want| over max |want|. */
const BOUND = { bfloat16: 5e-2, float16: 1e-2 } as const;

describe.skipIf(!HAS_TORCH || !Object.keys(manifest).length)('half-precision packages against float32 PyTorch (zoo)', () => {
  for (const name of ['unet', 'vae_decoder', 'bert', 'gpt']) {
    for (const dtype of ['bfloat16', 'float16'] as const) {
      it.skipIf(!manifest[name])(`${name} in ${dtype}: half weights and activations, within ${BOUND[dtype]} of the output's magnitude`, () => {
        const file = path.join(ZOO_DIR, manifest[name]!.file);
        const ref = parseBundle(fs.readFileSync(path.join(ZOO_DIR, manifest[name]!.bundle), 'utf8'));
        const pkg = buildMindSporePackage(loadModelFile(file), { source: manifest[name]!.file, dtype });
        // Every matmul/conv/embedding weight is stored in the half type; norms keep float32 weights.
        const heavy = pkg.result.params.filter((p) => /weight$/.test(p.name) && p.dims.length >= 2);
        expect(heavy.length).toBeGreaterThan(0);
        for (const p of heavy) expect(p.dtype, p.name).toBe(dtype);
        expect(packageText(pkg.files, 'model.py')).toContain(`dtype=ms.${dtype})`);
        const run = runStandin(writePackage(pkg.files), ref.inputs);
        for (const [o, want] of ref.outputs) {
          const a = num(fromTensor(want));
          const b = num(fromTensor(run.outputs.get(o)!));
          expect(b.some((x) => Number.isNaN(x)), `${o}: NaN`).toBe(false);
          let [err, mag] = [0, 0];
          a.forEach((x, i) => {
            err = Math.max(err, Math.abs(x - b[i]!));
            mag = Math.max(mag, Math.abs(x));
          });
          expect(err / mag, o).toBeLessThanOrEqual(BOUND[dtype]);
          // Not float32 by accident: half rounding shows.
          expect(err, o).toBeGreaterThan(0);
        }
      });
    }
  }
});
