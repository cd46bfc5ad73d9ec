/**
 * Shape inference against reality: every main-graph value of every zoo and corpus model is exposed as an output,
 * the model runs on onnxruntime-node, and each inferred dim, evaluated with the input dims bound to its symbols,
 * must equal the dim that came out. Dims that stand for data-dependent sizes (fresh symbols) are skipped.
 */
import { describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { loadModelFile } from '../../src/frontend/onnx/node-fs.js';
import { concatChunks, encodeModelBytes } from '../../src/frontend/onnx/index.js';
import { inferShapes } from '../../src/dialect/ops/infer.js';
import { evaluate } from '../../src/ir/symbolic.js';
import { formatType } from '../../src/ir/shape.js';
import type { Value } from '../../src/ir/value.js';
import { committedModels, corpusModels, inputElements, inputsFor, runOnnx, zooModels } from '../helpers/ort.js';

/** Models whose shapes cannot all be known before running them, and why. */
const NOT_FULLY_INFERABLE: Record<string, string> = {
  'onnx-diagnostic__attention_loopa24.onnx': 'Unsqueeze axes come from a graph input, so the rank of values in the Loop body is unknown',
  'silero-vad__silero_vad_16k_op15.onnx': 'an If squeezes the time axis only when it is 1 at run time, so the rank after it depends on the input',
};

const MAX_INPUT_ELEMENTS = 4_000_000;

const files = [...committedModels(), ...zooModels(), ...corpusModels()];

describe('shape inference', () => {
  for (const file of files) {
    const name = path.basename(file);
    it(`${name}: every value typed`, () => {
      const m = loadModelFile(file);
      const r = inferShapes(m);
      if (NOT_FULLY_INFERABLE[name]) {
        expect(r.unknown.length, 'listed as not fully inferable but everything was inferred: update the list').toBeGreaterThan(0);
        return;
      }
      expect(r.unsupported.map((u) => `${u.op}@${u.opset} ${u.node}: ${u.reason}`)).toEqual([]);
      expect(r.unknown.map((v) => `${v.name}: ${formatType(v.type)}`)).toEqual([]);
    });
  }

  for (const file of files) {
    const name = path.basename(file);
    it(`${name}: inferred dims match onnxruntime`, async (ctx) => {
      const m = loadModelFile(file);
      if (inputElements(m) > MAX_INPUT_ELEMENTS) return ctx.skip('inputs too large to feed here');
      if (m.irVersion < 3) return ctx.skip('IR < 3: onnxruntime refuses the file');
      if (name === 'onnx-diagnostic__attention_loopa24.onnx') return ctx.skip('its inputs are really axes: random values are not valid');
      const r = inferShapes(m);
      const feeds = inputsFor(file, m);
      const env: Record<string, number> = {};
      for (const v of m.graph.inputs) {
        const t = feeds.get(v.name);
        if (t && v.type?.kind === 'tensor' && v.type.shape) v.type.shape.forEach((d, i) => typeof d === 'string' && (env[d] = t.dims[i]!));
      }
      // Expose every typed tensor value of the main graph.
      const exposed: Value[] = m.graph.outputs.filter((v) => v.type?.kind === 'tensor' && !r.unknown.includes(v));
      const seen = new Set(m.graph.outputs);
      for (const n of m.graph) {
        for (const o of n.outputs) {
          if (o && !seen.has(o) && o.type?.kind === 'tensor' && !r.unknown.includes(o)) {
            seen.add(o);
            exposed.push(o);
            m.graph.outputs.push(o);
          }
        }
      }
      let out;
      try {
        out = await runOnnx(concatChunks(encodeModelBytes(m).chunks), feeds);
      } catch (e) {
        const msg = (e as Error).message;
        // Some corpus models do not run on random inputs at all (checked in the round-trip test).
        if (!/Load model|type|shape/i.test(msg)) return ctx.skip(`does not run on random inputs: ${msg.split('\n')[0]}`);
        throw e;
      }
      const mismatches: string[] = [];
      let checked = 0;
      for (const v of exposed) {
        const actual = out.get(v.name);
        if (!actual || v.type?.kind !== 'tensor' || !v.type.shape) continue;
        const shape = v.type.shape;
        if (shape.length !== actual.dims.length) {
          mismatches.push(`${v.name}: inferred ${formatType(v.type)}, got rank ${actual.dims.length} [${actual.dims.join(',')}]`);
          continue;
        }
        shape.forEach((d, i) => {
          const want = evaluate(d, env);
          if (want === null) return;
          checked++;
          if (want !== actual.dims[i]) mismatches.push(`${v.name}: inferred ${formatType(v.type)} = dim ${i} ${want}, got [${actual.dims.join(',')}]`);
        });
      }
      expect(mismatches.slice(0, 10)).toEqual([]);
      expect(checked).toBeGreaterThan(0);
    });
  }
});
