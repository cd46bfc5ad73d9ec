import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeModel } from '../../src/frontend/onnx/encode.js';
import { emptyAttributeP, emptyGraphP, emptyModelP, emptyNodeP, AttrType, type ModelP } from '../../src/frontend/onnx/proto.js';
import { loadModelFile, readModelFile, saveModelFile, stageFiles } from '../../src/frontend/onnx/node-fs.js';
import { MIN_LAZY_BYTES } from '../../src/frontend/onnx/file-read.js';
import { writeChunks, writeChunksParallel } from '../../src/frontend/onnx/file-write.js';
import { concatChunks, decodeModelBytes, encodeModelBytes } from '../../src/frontend/onnx/index.js';
import type { Chunk, Tensor } from '../../src/ir/tensor.js';
import { runPasses } from '../../src/passes/manager.js';
import { simdTranspose, transposeInto } from '../../src/util/transpose.js';
import { transpose2d } from '../../src/backends/mindspore/layers.js';
import { floats, rawFloatTensor } from '../helpers/proto-models.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-io-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const tensor = rawFloatTensor;

/** y = Relu(MatMul(x, w) + b) + c, with w (large, an initializer), b (small) and c (large, in a Constant node). */
function model(): ModelP {
  const w = tensor('w', [64, 128], 1);
  const b = tensor('b', [128], 2);
  const c = tensor('c_value', [64, 128], 3);
  const attr = { ...emptyAttributeP(), name: 'value', type: AttrType.TENSOR, t: c };
  const nodes = [
    { ...emptyNodeP(), opType: 'Constant', output: ['c'], name: 'const', attribute: [attr] },
    { ...emptyNodeP(), opType: 'MatMul', input: ['x', 'w'], output: ['m'], name: 'mm' },
    { ...emptyNodeP(), opType: 'Add', input: ['m', 'b'], output: ['a'], name: 'add' },
    { ...emptyNodeP(), opType: 'Relu', input: ['a'], output: ['r'], name: 'relu' },
    { ...emptyNodeP(), opType: 'Add', input: ['r', 'c'], output: ['y'], name: 'add2' },
  ];
  const vi = (name: string, shape: number[]) => ({ name, type: { kind: 'tensor' as const, elemType: 1, shape: shape.map((value) => ({ value })) }, docString: '', metadata: [] });
  return {
    ...emptyModelP(), irVersion: 8, opsetImport: [{ domain: '', version: 17 }],
    graph: { ...emptyGraphP(), name: 'g', node: nodes, initializer: [w, b], input: [vi('x', [64, 64])], output: [vi('y', [64, 128])] },
  };
}

describe('reading a model without its weights', () => {
  it('leaves large payloads on disk, reads them on use, and matches a whole read', () => {
    const f = path.join(dir, 'm.onnx');
    fs.writeFileSync(f, encodeModel(model()));
    const lazy = loadModelFile(f);
    const whole = decodeModelBytes(readModelFile(f));
    const w = lazy.graph.initializers.find((v) => v.name === 'w')!.const!;
    const b = lazy.graph.initializers.find((v) => v.name === 'b')!.const!;
    expect(w.nbytes).toBeGreaterThanOrEqual(MIN_LAZY_BYTES);
    expect(w.isLoaded).toBe(false);
    expect(w.source).toBeNull();
    expect(b.isLoaded).toBe(true);
    const c = [...lazy.graph].find((n) => n.op === 'Constant')!.attrs.get('value')!;
    expect(c.type).toBe('tensor');
    const ct = (c as { value: { isLoaded: boolean; bytes: Uint8Array } }).value;
    expect(ct.isLoaded).toBe(false);
    expect(Buffer.from(w.bytes).equals(Buffer.from(whole.graph.initializers.find((v) => v.name === 'w')!.const!.bytes))).toBe(true);
    expect(Buffer.from(ct.bytes).equals(Buffer.from(new Float32Array(floats(64 * 128, 3)).buffer))).toBe(true);
    // Written out again, the model is the same bytes whichever way it was read.
    const a = concatChunks(encodeModelBytes(loadModelFile(f)).chunks);
    expect(Buffer.from(a).equals(Buffer.from(concatChunks(encodeModelBytes(whole).chunks)))).toBe(true);
  });

  it('streams payloads from the file into the output without loading them', async () => {
    const f = path.join(dir, 'stream.onnx');
    fs.writeFileSync(f, encodeModel(model()));
    const m = loadModelFile(f);
    const enc = encodeModelBytes(m);
    expect(enc.chunks.some((c) => !(c instanceof Uint8Array) && c.file?.path === f)).toBe(true);
    const out = path.join(dir, 'out.onnx');
    (await stageFiles([[out, enc.chunks]])).commit();
    expect(m.graph.initializers.find((v) => v.name === 'w')!.const!.isLoaded).toBe(false);
    expect(Buffer.from(fs.readFileSync(out)).equals(Buffer.from(concatChunks(enc.chunks)))).toBe(true);
  });

  it('refuses to read weights from a file that changed after it was read', () => {
    const f = path.join(dir, 'changed.onnx');
    fs.writeFileSync(f, encodeModel(model()));
    const m = loadModelFile(f);
    fs.writeFileSync(f, encodeModel({ ...model(), producerName: 'someone else' }));
    expect(() => m.graph.initializers.find((v) => v.name === 'w')!.const!.bytes).toThrow(/changed while it was being read/);
  });

  it('cse tells constants still on disk apart by where they are, without reading them', () => {
    const m = model();
    // A second Constant with the same 32 KiB of values, at another place in the file.
    const c2 = { ...m.graph!.node[0]!, name: 'const2', output: ['c2'], attribute: [{ ...m.graph!.node[0]!.attribute[0]! }] };
    m.graph!.node.splice(1, 0, c2);
    m.graph!.node.push({ ...emptyNodeP(), opType: 'Add', input: ['y', 'c2'], output: ['y2'], name: 'add3' });
    m.graph!.output[0] = { ...m.graph!.output[0]!, name: 'y2' };
    const f = path.join(dir, 'two-consts.onnx');
    fs.writeFileSync(f, encodeModel(m));
    const lazy = loadModelFile(f);
    const [r] = runPasses(lazy, ['cse']);
    expect(r!.stats.merged).toBe(0);
    const consts = [...lazy.graph].filter((n) => n.op === 'Constant').map((n) => n.attrs.get('value')!.value as Tensor);
    expect(consts).toHaveLength(2);
    expect(consts.every((t) => !t.isLoaded)).toBe(true);
  });

  it('reads a file the walk does not understand whole, so that the decoder names the problem', () => {
    const f = path.join(dir, 'trunc.onnx');
    const bytes = encodeModel(model());
    fs.writeFileSync(f, bytes.subarray(0, bytes.length - 5000));
    expect(() => loadModelFile(f)).toThrow(/not a valid ONNX protobuf/);
  });
});

describe('writing chunks', () => {
  const sources = () => {
    const m = loadModelFile(path.join(dir, 'm.onnx'));
    const lazy = m.graph.initializers.find((v) => v.name === 'w')!.const!.payload();
    // A source with pieces only (no file range), as onnxruntime-web's external data is.
    const piecesOnly: Chunk = { length: 5000, load: () => new Uint8Array(5000).fill(9), pieces: () => [new Uint8Array(3000).fill(9), new Uint8Array(2000).fill(9)] };
    const chunks: Chunk[] = [new Uint8Array([1, 2, 3]), lazy, new Uint8Array(3 * 1024 * 1024).fill(5), piecesOnly, new Uint8Array(10).fill(6)];
    return { chunks };
  };

  it('writes the same bytes in parallel as in order, and as in memory', async () => {
    const { chunks } = sources();
    const a = path.join(dir, 'a.bin');
    const b = path.join(dir, 'b.bin');
    writeChunks(a, chunks);
    await writeChunksParallel(b, chunks);
    const want = Buffer.from(concatChunks(chunks));
    expect(fs.readFileSync(a).equals(want)).toBe(true);
    expect(fs.readFileSync(b).equals(want)).toBe(true);
  });

  it('copies large file ranges in pieces at their offsets', async () => {
    const f = path.join(dir, 'big.onnx');
    const big = model();
    big.graph!.initializer[0] = tensor('w', [1024, 3000], 4); // 12 MB: several copy pieces
    fs.writeFileSync(f, encodeModel(big));
    const enc = encodeModelBytes(loadModelFile(f));
    const out = path.join(dir, 'big-out.onnx');
    await writeChunksParallel(out, enc.chunks);
    expect(fs.readFileSync(out).equals(Buffer.from(concatChunks(enc.chunks)))).toBe(true);
    expect(Buffer.from(fs.readFileSync(out)).equals(fs.readFileSync(f))).toBe(true);
  });

  it('replaces an existing output and leaves no temporaries', async () => {
    const out = path.join(dir, 'replace', 'x.onnx');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, 'old');
    (await stageFiles([[out, [new Uint8Array([1, 2, 3])]]])).commit();
    expect([...fs.readFileSync(out)]).toEqual([1, 2, 3]);
    expect(fs.readdirSync(path.dirname(out))).toEqual(['x.onnx']);
    saveModelFile(decodeModelBytes(encodeModel(model())), out);
    expect(fs.readdirSync(path.dirname(out))).toEqual(['x.onnx']);
  });

  it('fails cleanly when a source file changed, leaving nothing behind', async () => {
    const f = path.join(dir, 'gone.onnx');
    fs.writeFileSync(f, encodeModel(model()));
    const enc = encodeModelBytes(loadModelFile(f));
    fs.writeFileSync(f, 'rewritten');
    const out = path.join(dir, 'fail', 'y.onnx');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    await expect(stageFiles([[out, enc.chunks]])).rejects.toThrow(/changed while it was being read/);
    expect(fs.readdirSync(path.dirname(out))).toEqual([]);
  });
});

describe('transposes', () => {
  it('uses the SIMD kernel on this host', () => {
    expect(simdTranspose()).toBe(true);
  });

  it('matches an element-by-element transpose for every width and ragged sizes', () => {
    for (const width of [1, 2, 4, 8]) {
      for (const [r, c] of [[1, 1], [3, 5], [4, 4], [7, 9], [64, 64], [65, 130], [129, 67], [5, 256]] as [number, number][]) {
        const src = Uint8Array.from({ length: r * c * width }, (_, i) => (i * 31 + r + c) & 255);
        const out = transposeInto(width, r, c, (d) => d.set(src)).slice();
        const want = new Uint8Array(src.length);
        for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) want.set(src.subarray((i * c + j) * width, (i * c + j + 1) * width), (j * r + i) * width);
        expect(Buffer.from(out).equals(Buffer.from(want)), `${width}-byte ${r}x${c}`).toBe(true);
      }
    }
  });

  it('transposes a weight still on disk', () => {
    const m = loadModelFile(path.join(dir, 'm.onnx'));
    const w = m.graph.initializers.find((v) => v.name === 'w')!.const!;
    const t = new Float32Array(transpose2d(w).buffer);
    const src = floats(64 * 128, 1);
    expect(t[5 * 64 + 3]).toBe(src[3 * 128 + 5]);
    expect(w.isLoaded).toBe(false);
  });
});
