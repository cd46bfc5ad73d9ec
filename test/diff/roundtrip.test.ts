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
import { parseBundle } from '../../src/ir/bundle.js';
import { verify } from '../../src/ir/verify.js';
import type { Tensor } from '../../src/ir/tensor.js';
import { committedModels, corpusModels, randomInputs, runOnnx, sameBytes, zooModels } from '../helpers/ort.js';

/** Inputs that make corpus models take their real paths (sample rates, sequence lengths they accept). */
const CORPUS_FEEDS: Record<string, { dims?: Record<string, number>; dimValue?: number; intRange?: number; fixed?: Record<string, bigint> }> = {
  'silero-vad__silero_vad_16k_op15.onnx': { fixed: { sr: 16000n }, dims: {}, dimValue: 1 },
  'silero-vad__silero_vad_op18_ifless.onnx': { fixed: { sr: 16000n }, dims: { batch: 1, sequence: 512 } },
  'silero-vad__silero_vad_v4_torch1.12.onnx': { fixed: { sr: 16000n }, dimValue: 1 },
  'silero-vad__silero_vad_v3_torch1.9.onnx': { dimValue: 1 },
};

async function inputsFor(file: string, model: ReturnType<typeof loadModelFile>): Promise<Map<string, Tensor>> {
  const bundle = file.replace(/\.onnx$/, '.io.json');
  if (fs.existsSync(bundle)) return parseBundle(fs.readFileSync(bundle, 'utf8'), bundle).inputs;
  const spec = CORPUS_FEEDS[path.basename(file)] ?? {};
  const feeds = randomInputs(model, 7, spec);
  for (const [name, v] of Object.entries(spec.fixed ?? {})) {
    const t = feeds.get(name);
    if (t) new DataView(t.bytes.buffer, t.bytes.byteOffset).setBigInt64(0, v, true);
  }
  return feeds;
}

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

  const inputElements = model.graph.inputs.filter((v) => !v.const).reduce((s, v) => {
    const shape = v.type?.kind === 'tensor' ? v.type.shape ?? [] : [];
    return s + shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 2), 1);
  }, 0);
  if (inputElements > MAX_INPUT_ELEMENTS) {
    // Models that take their weights as inputs (llama-7B-sized): too big to run here; both sessions must load.
    await runOnnx(encoded, new Map(), { loadOnly: true });
    return `inputs hold ${inputElements} elements: checked by IR equality and session creation only`;
  }
  const feeds = await inputsFor(file, model);
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
