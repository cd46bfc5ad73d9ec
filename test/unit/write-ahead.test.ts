/**
 * Writing weights ahead (write-ahead.ts) and the graph-first layout it relies on: whatever the passes did to the
 * weights, the file written is the final encoding byte for byte, and it loads as the same model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeModel, encodeModelChunks } from '../../src/frontend/onnx/encode.js';
import { emptyGraphP, emptyModelP, emptyNodeP, type ModelP } from '../../src/frontend/onnx/proto.js';
import { loadModelFile, tempFor } from '../../src/frontend/onnx/node-fs.js';
import { startWriteAhead, commonPrefix, dropBytes } from '../../src/frontend/onnx/write-ahead.js';
import { concatChunks, decodeModelBytes, encodeModelBytes, exportModel } from '../../src/frontend/onnx/index.js';
import { printGraph } from '../../src/ir/print.js';
import { Tensor } from '../../src/ir/tensor.js';
import type { Model } from '../../src/ir/model.js';
import { dtypeFromName } from '../../src/ir/dtype.js';
import { runOnnx } from '../helpers/ort.js';
import { floats, rawFloatTensor } from '../helpers/proto-models.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-ahead-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const tensor = rawFloatTensor;

/** y = ((x @ w1 + b) @ w2) @ w3: three weights large enough to stay on disk, and a small bias read at once. */
function modelP(): ModelP {
  const vi = (name: string, shape: number[]) => ({ name, type: { kind: 'tensor' as const, elemType: 1, shape: shape.map((value) => ({ value })) }, docString: '', metadata: [] });
  const node = (op: string, input: string[], output: string) => ({ ...emptyNodeP(), opType: op, input, output: [output], name: output });
  return {
    ...emptyModelP(), irVersion: 8, opsetImport: [{ domain: '', version: 17 }], producerName: 'test',
    graph: {
      ...emptyGraphP(), name: 'g',
      node: [node('MatMul', ['x', 'w1'], 'a'), node('Add', ['a', 'b'], 'c'), node('MatMul', ['c', 'w2'], 'd'), node('MatMul', ['d', 'w3'], 'y')],
      initializer: [tensor('w1', [32, 128], 1), tensor('b', [128], 2), tensor('w2', [128, 128], 3), tensor('w3', [128, 64], 4)],
      input: [vi('x', [2, 32])], output: [vi('y', [2, 64])],
    },
  };
}

let n = 0;
function fresh(): { file: string; model: Model; out: string } {
  const file = path.join(dir, `m${n++}.onnx`);
  fs.writeFileSync(file, encodeModel(modelP()));
  return { file, model: loadModelFile(file), out: path.join(dir, `out${n}.onnx`) };
}

async function writeAhead(model: Model, out: string, change?: (m: Model) => void, width?: number) {
  const tmp = tempFor(out);
  const ahead = startWriteAhead(model, tmp, 0)!;
  expect(ahead).not.toBeNull();
  change?.(model);
  const enc = encodeModelBytes(model, { leading: ahead.leading, lengthWidth: width ?? ahead.lengthWidth });
  await ahead.target(enc).finish();
  return { ahead, enc, bytes: new Uint8Array(fs.readFileSync(tmp)), tmp };
}

const weight = (m: Model, name: string) => m.graph.initializers.find((v) => v.name === name)!;
/** The printed graph with its lines sorted: the layout puts initializers in another order, which means nothing. */
const printed = (m: Model) => printGraph(m.graph).split('\n').sort().join('\n');

describe('writing weights ahead', () => {
  it('keeps every byte written ahead when the weights come out unchanged', async () => {
    const { model, out } = fresh();
    const { ahead, enc, bytes } = await writeAhead(model, out);
    expect(ahead.leading.length).toBe(3); // w1, w2, w3: the bias was read at once
    expect(ahead.kept).toBe(ahead.written);
    expect(bytes).toEqual(concatChunks(enc.chunks));
    // The same model as the usual layout, field for field.
    expect(printed(decodeModelBytes(bytes))).toBe(printed(decodeModelBytes(concatChunks(encodeModelBytes(model).chunks))));
    expect(bytes[0]).toBe(0x3a); // the graph comes first
  });

  it('writes the rest again from a weight the compile changed, and the result is the final encoding', async () => {
    const { model, out } = fresh();
    const w2 = weight(model, 'w2');
    const { ahead, enc, bytes } = await writeAhead(model, out, () => {
      w2.const = Tensor.fromBytes(w2.const!.dtype, w2.const!.dims, new Uint8Array(floats(128 * 128, 9).buffer));
    });
    expect(ahead.kept).toBeGreaterThan(32 * 128 * 4); // w1 is kept
    expect(ahead.kept).toBeLessThan(ahead.written);
    expect(bytes).toEqual(concatChunks(enc.chunks));
    const back = decodeModelBytes(bytes);
    expect(weight(back, 'w2').const!.bytes).toEqual(new Uint8Array(floats(128 * 128, 9).buffer));
  });

  it('survives a weight dropped, renamed, or the first one changed', async () => {
    for (const change of [
      (m: Model) => { // w1 renamed: nothing written ahead matches
        weight(m, 'w1').name = 'renamed';
      },
      (m: Model) => { // w2 folded into w3's place: w2 gone, w3 moved up
        const g = m.graph;
        const mm = [...g].find((x) => x.name === 'd')!;
        const d = mm.outputs[0]!;
        g.replaceAllUsesWith(d, mm.inputs[0]!);
        g.remove(mm);
        g.removeInitializer(weight(m, 'w2'));
        const w3 = weight(m, 'w3');
        w3.const = Tensor.fromBytes(w3.const!.dtype, [128, 64], new Uint8Array(floats(128 * 64, 5).buffer));
      },
    ]) {
      const { model, out } = fresh();
      const { enc, bytes } = await writeAhead(model, out, change);
      expect(bytes).toEqual(concatChunks(enc.chunks));
      expect(printed(decodeModelBytes(bytes))).toBe(printed(model));
    }
  });

  it('writes everything again when the graph needs another length width', async () => {
    const { model, out } = fresh();
    const { ahead, enc, bytes } = await writeAhead(model, out, undefined, 5); // the graph needs 3: padded
    expect(enc.head).not.toBe(1 + ahead.lengthWidth);
    expect(ahead.kept).toBe(0);
    expect(bytes).toEqual(concatChunks(enc.chunks));
  });

  it('removes its file when abandoned, and refuses a model file rewritten meanwhile', async () => {
    const a = fresh();
    const tmp = tempFor(a.out);
    const ahead = startWriteAhead(a.model, tmp, 0)!;
    expect(fs.existsSync(tmp)).toBe(true);
    ahead.abort();
    expect(fs.existsSync(tmp)).toBe(false);
    ahead.abort();

    const b = fresh();
    const tmp2 = tempFor(b.out);
    const ahead2 = startWriteAhead(b.model, tmp2, 0)!;
    const enc = encodeModelBytes(b.model, { leading: ahead2.leading, lengthWidth: ahead2.lengthWidth });
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(b.file, later, later);
    await expect(ahead2.target(enc).finish()).rejects.toThrow(/changed while it was being read/);
  });

  it('leaves models with few weights on disk to the usual writer', () => {
    const { model, out } = fresh();
    expect(startWriteAhead(model, tempFor(out))).toBeNull(); // below the default 32 MiB
  });

  it('compares chunk lists by bytes, and by file range for data on disk', () => {
    const { model } = fresh();
    const [w1] = model.graph.initializers.map((v) => v.const!.payload());
    const a = [new Uint8Array([1, 2, 3]), new Uint8Array([4]), w1!, new Uint8Array([5, 6])];
    expect(commonPrefix(a, [new Uint8Array([1, 2]), new Uint8Array([3, 4]), w1!, new Uint8Array([5, 7])])).toBe(4 + w1!.length + 1);
    expect(commonPrefix(a, [new Uint8Array([1, 2, 3, 4]), new Uint8Array(w1!.length)])).toBe(4);
    // Data on disk against the same bytes in memory: equal.
    const loaded = (w1 as Exclude<typeof w1, Uint8Array>).load();
    expect(commonPrefix(a, [new Uint8Array([1, 2, 3, 4]), loaded, new Uint8Array([5])])).toBe(4 + w1!.length + 1);
    expect(concatChunks(dropBytes([new Uint8Array([1, 2]), new Uint8Array([3, 4])], 3))).toEqual(new Uint8Array([4]));
  });
});

describe('the graph-first layout', () => {
  it('loads in onnxruntime as the usual layout does, with a length wider than it needs', async () => {
    const { model } = fresh();
    const p = exportModel(model, { leading: model.graph.initializers.map((v) => v.const!) }).proto;
    const usual = concatChunks(encodeModelBytes(model).chunks);
    const first = concatChunks(encodeModelChunks(p, { leading: 2, lengthWidth: 5 }));
    expect(first[0]).toBe(0x3a);
    expect([...first.slice(1, 5)].every((b) => b >= 0x80) && first[5]! < 0x80).toBe(true); // 5 bytes, padded
    expect(printed(decodeModelBytes(first))).toBe(printed(decodeModelBytes(usual)));
    const x = new Map([['x', Tensor.fromBytes(dtypeFromName('float32')!, [2, 32], new Uint8Array(floats(64, 7).buffer))]]);
    const [a, b] = [await runOnnx(usual, x), await runOnnx(first, x)];
    expect(b.get('y')!.bytes).toEqual(a.get('y')!.bytes);
  });
});
