import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeModel } from '../../src/frontend/onnx/encode.js';
import { emptyGraphP, emptyModelP, emptyNodeP, emptyTensorP, type ModelP } from '../../src/frontend/onnx/proto.js';
import { loadModelFile, saveModelFile } from '../../src/frontend/onnx/node-fs.js';
import { printGraph } from '../../src/ir/print.js';

let dir: string;
let outside: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-ext-'));
  outside = fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-outside-'));
  const data = new Float32Array([1, 2, 3, 4, 5, 6]);
  fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.concat([Buffer.alloc(8), Buffer.from(data.buffer)]));
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(dir, 'sub', 'w.bin'), Buffer.from(data.buffer));
  fs.writeFileSync(path.join(outside, 'secret.bin'), Buffer.from(data.buffer));
  fs.symlinkSync(path.join(outside, 'secret.bin'), path.join(dir, 'link.bin'));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(outside, { recursive: true, force: true });
});

function modelWith(location: string, offset?: number, length?: number): ModelP {
  const t = { ...emptyTensorP(), name: 'w', dataType: 1, dims: [2, 3], dataLocation: 1 };
  t.externalData.push({ key: 'location', value: location });
  if (offset !== undefined) t.externalData.push({ key: 'offset', value: String(offset) });
  if (length !== undefined) t.externalData.push({ key: 'length', value: String(length) });
  const node = { ...emptyNodeP(), opType: 'Relu', input: ['w'], output: ['y'], name: 'relu' };
  return {
    ...emptyModelP(), irVersion: 8, opsetImport: [{ domain: '', version: 17 }],
    graph: { ...emptyGraphP(), name: 'g', node: [node], initializer: [t], output: [{ name: 'y', type: null, docString: '', metadata: [] }] },
  };
}

function write(name: string, p: ModelP): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, encodeModel(p));
  return f;
}

describe('external data', () => {
  it('reads data at an offset, lazily', () => {
    const m = loadModelFile(write('ok.onnx', modelWith('weights.bin', 8, 24)));
    const t = m.graph.initializers[0]!.const!;
    expect(t.isLoaded).toBe(false);
    expect(Array.from(t.toArray() as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(t.source).toEqual({ location: 'weights.bin', offset: 8, length: 24 });
  });

  it('reads from a subfolder and takes the rest of the file when length is absent', () => {
    const m = loadModelFile(write('sub.onnx', modelWith('sub/w.bin')));
    expect(Array.from(m.graph.initializers[0]!.const!.toArray() as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  const refused: [string, ModelP, RegExp][] = [
    ['an absolute path', modelWith('/etc/passwd'), /absolute path/],
    ['a .. escape', modelWith('../secret.bin'), /escapes the model's directory/],
    ['a hidden .. escape', modelWith('sub/../../secret.bin'), /escapes the model's directory/],
    ['a symlink out of the directory', modelWith('link.bin'), /link that leaves/],
    ['a missing file', modelWith('nope.bin'), /external data file "nope.bin" is missing/],
    ['a short file', modelWith('weights.bin', 16, 24), /too short/],
    ['a length that does not fit the tensor', modelWith('weights.bin', 0, 12), /needs 24 bytes/],
    ['a bad offset', modelWith('weights.bin', -1 as unknown as number), /not a non-negative integer/],
  ];
  for (const [what, p, re] of refused) {
    it(`refuses ${what}`, () => {
      expect(() => loadModelFile(write('bad.onnx', p))).toThrow(re);
    });
  }

  it('saves with external data and loads back the same graph', () => {
    const m = loadModelFile(write('ok2.onnx', modelWith('weights.bin', 8, 24)));
    const out = path.join(dir, 'out.onnx');
    const res = saveModelFile(m, out, { externalData: true, externalThreshold: 0 });
    expect(res.externalSize).toBeGreaterThanOrEqual(24);
    expect(fs.existsSync(path.join(dir, 'out.onnx.data'))).toBe(true);
    const back = loadModelFile(out);
    expect(printGraph(back.graph)).toBe(printGraph(m.graph));
    expect(back.graph.initializers[0]!.const!.source?.location).toBe('out.onnx.data');
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
