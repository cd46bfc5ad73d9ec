/**
 * ONNX -> mint dialect -> ONNX: every zoo and corpus model converts, verifies, infers on the dialect, lowers back to
 * its own opset and gives bitwise the outputs of the original on onnxruntime-node. Conversion is idempotent.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModelFile } from '../../src/frontend/onnx/node-fs.js';
import { concatChunks, encodeModelBytes } from '../../src/frontend/onnx/index.js';
import { lowerToOnnx, MINT_DOMAIN, toMint } from '../../src/dialect/index.js';
import { inferShapes } from '../../src/dialect/ops/infer.js';
import { printGraph } from '../../src/ir/print.js';
import { verify } from '../../src/ir/verify.js';
import { committedModels, corpusModels, inputElements, inputsFor, runOnnx, sameBytes, zooModels } from '../helpers/ort.js';

const files = [...committedModels(), ...zooModels(), ...corpusModels()];

describe('mint dialect round trip', () => {
  for (const file of files) {
    const name = path.basename(file);
    it(name, async (ctx) => {
      const m = loadModelFile(file);
      const before = inferShapes(loadModelFile(file)).unknown.length;
      const stats = toMint(m);
      verify(m.graph);
      const dialectNodes = [...m.graph.allNodes()].filter((n) => n.domain === MINT_DOMAIN).length;
      expect(dialectNodes).toBe(stats.converted);
      // Inference works on the dialect as on ONNX.
      expect(inferShapes(m).unknown.length).toBe(before);
      // Idempotent: a second conversion changes nothing.
      const printed = printGraph(m.graph);
      expect(toMint(m).converted).toBe(0);
      expect(printGraph(m.graph)).toBe(printed);

      lowerToOnnx(m);
      verify(m.graph);
      expect([...m.graph.allNodes()].some((n) => n.domain === MINT_DOMAIN)).toBe(false);
      if (m.irVersion < 3) return ctx.skip('IR < 3: onnxruntime refuses the file (conversion and lowering were checked above)');
      if (inputElements(m) > 4_000_000) return ctx.skip('inputs too large to feed here (conversion and lowering were checked above)');
      const feeds = inputsFor(file, m);
      const original = new Uint8Array(fs.readFileSync(file));
      let base;
      try {
        base = await runOnnx(original, feeds, { unoptimized: true });
      } catch (e) {
        return ctx.skip(`onnxruntime cannot run the original on these inputs: ${(e as Error).message.split('\n')[0]}`);
      }
      const got = await runOnnx(concatChunks(encodeModelBytes(m).chunks), feeds, { unoptimized: true });
      for (const [k, v] of base) {
        const g = got.get(k)!;
        expect(g.dims, k).toEqual(v.dims);
        expect(sameBytes(g.bytes, v.bytes), `output ${k} differs after the dialect round trip`).toBe(true);
      }
    });
  }
});
