/**
 * Parameter and submodule names that are legal in PyTorch but would shadow a member of MindSpore's nn.Cell (in any
 * supported version), a Python builtin, a dunder or a private attribute: the package avoids them, loads every
 * weight and computes what onnxruntime computes. The stand-in's Cell refuses a parameter or cell assigned over a
 * member, as MindSpore breaks there, so this test fails if a name slips through.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Model } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';
import { concatChunks, encodeModelBytes } from '../../src/frontend/onnx/index.js';
import { buildMindSporePackage } from '../../src/backends/mindspore/package.js';
import { CELL_MEMBERS } from '../../src/backends/mindspore/cell-members.js';
import { Builder, f32 } from '../helpers/builder.js';
import { runOnnx } from '../helpers/ort.js';
import { HAS_TORCH, packageText, relError, runStandin, writePackage } from '../helpers/standin.js';

const PYTHON = ['print', 'len', 'type', 'id', 'super', 'object', 'property', 'staticmethod', 'getattr', 'vars', 'dir', 'hash', 'iter', 'next', 'compile', 'exec', 'eval'];
const DUNDER_AND_PRIVATE = ['__init__', '__class__', '__dict__', '__call__', '__getattr__', '__setattr__', '_cells', '_params', '_construct', '__x'];
const NAMES = [...new Set([...CELL_MEMBERS, ...PYTHON, ...DUNDER_AND_PRIVATE])];

/** x -> one Linear per name (a submodule of that name) -> plus one parameter per name. */
function model(): Model {
  const b = new Builder();
  let h = b.input('x', [2, 4]);
  NAMES.forEach((name, i) => {
    const w = b.constant(`${name}.weight`, Array.from({ length: 16 }, (_, k) => ((k * 7 + i) % 11) / 20 - 0.25), [4, 4]);
    const bias = b.constant(`${name}.bias`, [0.01 * i, -0.01, 0.02, 0], [4]);
    h = b.op('Gemm', [h, w, bias], { attrs: { transB: { type: 'int', value: 1 } } }).outputs[0]!;
    h = b.op('Tanh', [h]).outputs[0]!;
  });
  NAMES.forEach((name, i) => {
    h = b.op('Add', [h, b.constant(name, [0.001 * i, 0, 0, -0.001 * i], [4])]).outputs[0]!;
  });
  b.output(h);
  return new Model(b.graph, 8, new Map([['', 17]]));
}

describe.skipIf(!HAS_TORCH)('names that nn.Cell or Python already uses', () => {
  for (const version of ['2.3.1', '2.6.0', '2.7.0rc1']) {
    it(`${NAMES.length} names as submodules and as parameters run under the stand-in at ${version}`, async () => {
      const feeds = new Map([['x', Tensor.fromArray(f32, [2, 4], new Float32Array([0.5, -1, 0.25, 2, -0.5, 1, 0, -2]))]]);
      const ref = await runOnnx(concatChunks(encodeModelBytes(model()).chunks), feeds);
      const pkg = buildMindSporePackage(model(), { msVersion: version, weights: version < '2.4' ? 'ckpt' : 'safetensors' });
      const dir = writePackage(pkg.files, fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-names-')));
      const run = runStandin(dir, feeds, { MSGRAPH_STANDIN_MS_VERSION: version });
      expect(run.notLoaded).toEqual([]);
      expect(run.unused).toEqual([]);
      const [name, want] = [...ref][0]!;
      expect(relError(want, run.outputs.get(name)!)).toBeLessThanOrEqual(1e-5);
      // Each renamed attribute is reported, and the weight map still leads from every ONNX name to its parameter.
      const map = JSON.parse(packageText(pkg.files, 'weight_map.json')) as { onnx_to_parameter: Record<string, unknown> };
      for (const n of NAMES) expect(map.onnx_to_parameter[`${n}.weight`], n).toBeDefined();
      expect(pkg.result.warnings.filter((w) => /is named .* in the Cell/.test(w)).length).toBeGreaterThanOrEqual(CELL_MEMBERS.length);
      fs.rmSync(dir, { recursive: true, force: true });
    });
  }
});
