/**
 * compile --target onnx --passes none must be a pure round trip: the re-encoded model gives bitwise identical outputs
 * on onnxruntime-node, for every zoo model and every corpus file onnxruntime-node can load.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModelFile } from '../../src/frontend/onnx/node-fs.js';
import { concatChunks, decodeModelBytes, encodeModelBytes } from '../../src/frontend/onnx/index.js';
import { printGraph } from '../../src/ir/print.js';
import { verify } from '../../src/ir/verify.js';
import type { Tensor } from '../../src/ir/tensor.js';
import { committedModels, corpusModels, inputElements, inputsFor, runOnnx, sameBytes, zooModels } from '../helpers/ort.js';

async function tryRun(model: Uint8Array, feeds: Map<string, Tensor>) {
  try {
    return { ok: true as const, out: await runOnnx(model, feeds) };
  } catch (e) {
    return { ok: false as const, error: (e as Error).message };
  }
}

async function checkRoundTrip(file: string): Promise<string> {
  const original = new Uint8Array(fs.readFileSync(file));
  const model = loadModelFile(file);
  verify(model.graph);
  const encoded = concatChunks(encodeModelBytes(model).chunks);
  // Decoding our own output gives the same IR again, and encoding that gives the same bytes.
  const again = decodeModelBytes(encoded, { file: 'roundtrip' });
  expect(printGraph(again.graph)).toBe(printGraph(model.graph));
  expect(sameBytes(concatChunks(encodeModelBytes(again).chunks), encoded)).toBe(true);

  const elements = inputElements(model);
  if (elements > MAX_INPUT_ELEMENTS) {
    // Models that take their weights as inputs (llama-7B-sized): too big to run here; both sessions must load.
    await runOnnx(encoded, new Map(), { loadOnly: true });
    return `inputs hold ${elements} elements: checked by IR equality and session creation only`;
  }
  const feeds = inputsFor(file, model);
  const a = await tryRun(original, feeds);
  if (!a.ok) {
    if (/Load model|Missing opset|failed:Protobuf/i.test(a.error)) return `original not loadable by onnxruntime-node: ${a.error.slice(0, 80)}`;
    const b = await tryRun(encoded, feeds);
    expect(b.ok, `round trip runs although the original failed: ${a.error}`).toBe(false);
    return `both fail to run with these inputs: ${a.error.slice(0, 100)}`;
  }
  const b = await tryRun(encoded, feeds);
  if (!b.ok) throw new Error(`round trip fails to run: ${b.error}`);
  expect([...b.out.keys()]).toEqual([...a.out.keys()]);
  for (const [name, x] of a.out) {
    const y = b.out.get(name)!;
    expect(y.dims, name).toEqual(x.dims);
    expect(y.dtype, name).toBe(x.dtype);
    expect(sameBytes(x.bytes, y.bytes), `output ${name} differs`).toBe(true);
  }
  return 'bitwise identical';
}

const MAX_INPUT_ELEMENTS = 4_000_000;

const files = [...committedModels(), ...zooModels(), ...corpusModels()];

describe('round trip on onnxruntime-node', () => {
  it('has models to test', () => {
    expect(committedModels().length).toBeGreaterThan(0);
  });
  for (const file of files) {
    it(path.basename(file), async () => {
      const verdict = await checkRoundTrip(file);
      if (verdict !== 'bitwise identical') console.log(`${path.basename(file)}: ${verdict}`);
    });
  }
});
