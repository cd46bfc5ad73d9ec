/** Bad input gets one clear line naming the file (and node), exit code 2, no stack trace, no hang, no output file. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeModel } from '../../src/frontend/onnx/encode.js';
import { Writer } from '../../src/frontend/onnx/protobuf.js';
import { emptyTensorP } from '../../src/frontend/onnx/proto.js';
import { node, protoModel } from '../helpers/proto-models.js';
import { msgraph, ROOT } from '../helpers/cli.js';
import { rng } from '../helpers/ort.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-bad-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const model = protoModel;

function file(name: string, bytes: Uint8Array | string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, bytes);
  return f;
}

const unet = fs.readFileSync(path.join(ROOT, 'models/unet_tiny.onnx'));
const next = rng(42);
const random = new Uint8Array(4096).map(() => Math.floor(next() * 256));
const unknownFieldsOnly = (() => {
  const w = new Writer();
  w.string(100, 'not a model');
  w.int64(101, 5);
  return w.concat();
})();
const badDtype = model([node('Identity', ['c'], ['y'], 'id')], { initializer: [{ ...emptyTensorP(), name: 'c', dataType: 77, dims: [1], rawData: new Uint8Array(4) }] });
const escaping = (() => {
  const t = { ...emptyTensorP(), name: 'w', dataType: 1, dims: [2], dataLocation: 1, externalData: [{ key: 'location', value: '../../etc/passwd' }] };
  return model([node('Add', ['x', 'w'], ['y'], 'add')], { initializer: [t] });
})();
const missingExt = (() => {
  const t = { ...emptyTensorP(), name: 'w', dataType: 1, dims: [2], dataLocation: 1, externalData: [{ key: 'location', value: 'weights.bin' }] };
  return model([node('Add', ['x', 'w'], ['y'], 'add')], { initializer: [t] });
})();

const cases: [string, () => string, RegExp][] = [
  ['a truncated file', () => file('truncated.onnx', unet.subarray(0, unet.length >> 1)), /not a valid ONNX protobuf: truncated/],
  ['random bytes', () => file('random.onnx', random), /not a valid ONNX protobuf/],
  ['an empty file', () => file('empty.onnx', new Uint8Array()), /the file is empty/],
  ['a JSON file', () => file('bundle.onnx', fs.readFileSync(path.join(ROOT, 'models/bert.io.json'))), /not a valid ONNX protobuf|not an ONNX model/],
  ['a valid protobuf that is not a model', () => file('notmodel.onnx', unknownFieldsOnly), /not an ONNX model/],
  ['a graph with a cycle', () => file('cycle.onnx', encodeModel(model([node('Relu', ['b'], ['a'], 'r1'), node('Neg', ['a'], ['b'], 'n1'), node('Add', ['x', 'a'], ['y'], 'add')]))), /the graph has a cycle.*\(node "r1"\)/],
  ['a node reading an undefined value', () => file('undef.onnx', encodeModel(model([node('Add', ['x', 'ghost'], ['y'], 'add')]))), /input 1 reads undefined value "ghost" \(node "add"\)/],
  ['duplicate value names', () => file('dup.onnx', encodeModel(model([node('Relu', ['x'], ['y'], 'r1'), node('Neg', ['x'], ['y'], 'n1')]))), /value "y" is produced twice.*\(node "n1"\)/],
  ['a node output redefining an input', () => file('redef.onnx', encodeModel(model([node('Relu', ['x'], ['x'], 'r1'), node('Neg', ['x'], ['y'], 'n1')]))), /redefines a graph input/],
  ['an unknown dtype', () => file('dtype.onnx', encodeModel(badDtype)), /unknown data type 77 in tensor "c"/],
  ['external data escaping the model directory', () => file('escape.onnx', encodeModel(escaping)), /escapes the model's directory/],
  ['a missing external file', () => file('missing.onnx', encodeModel(missingExt)), /external data file "weights.bin" is missing/],
  ['a path that does not exist', () => path.join(dir, 'nope.onnx'), /no such file/],
  ['a directory', () => dir, /not a regular file/],
];

describe('bad input', () => {
  for (const [what, make, re] of cases) {
    it(`inspect: ${what}`, () => {
      const f = make();
      const r = msgraph(['inspect', f]);
      expect(r.code).toBe(2);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^msgraph: error: /);
      expect(lines[0]).toContain(f);
      expect(lines[0]).toMatch(re);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
    });
  }

  it('compile leaves no output file behind on bad input', () => {
    const f = cases[0]![1]();
    const out = path.join(dir, 'out', 'never.onnx');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const r = msgraph(['compile', f, '--target', 'onnx', '-o', out, '--passes', 'none']);
    expect(r.code).toBe(2);
    expect(fs.readdirSync(path.dirname(out))).toEqual([]);
  });

  it('--debug adds the stack trace', () => {
    const r = msgraph(['inspect', path.join(dir, 'random.onnx'), '--debug']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  it('usage errors exit non-zero with one message', () => {
    const r = msgraph(['compile', path.join(ROOT, 'models/bert.onnx'), '-o', path.join(dir, 'x.onnx'), '--passes', 'fuse-everything']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown pass "fuse-everything"/);
    const t = msgraph(['compile', path.join(ROOT, 'models/bert.onnx'), '--target', 'tflite', '-o', path.join(dir, 'x.onnx')]);
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(/tflite/);
  });
});
