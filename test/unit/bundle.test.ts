import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { base64Decode, base64Encode, formatBundle, parseBundle, tensorFromValues } from '../../src/ir/bundle.js';
import { dtypeFromName } from '../../src/ir/dtype.js';
import { MODELS_DIR, rng } from '../helpers/ort.js';

describe('tensor bundle', () => {
  it('reads bundles written by numpy', () => {
    const b = parseBundle(fs.readFileSync(path.join(MODELS_DIR, 'bert.io.json'), 'utf8'));
    expect([...b.inputs.keys()]).toEqual(['input_ids', 'attention_mask']);
    const ids = b.inputs.get('input_ids')!;
    expect(ids.dtype.name).toBe('int64');
    expect(ids.dims).toEqual([2, 12]);
    const mask = Array.from(b.inputs.get('attention_mask')!.toArray() as BigInt64Array, Number);
    expect(mask.slice(12)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]);
    expect(b.outputs.get('last_hidden_state')!.dims).toEqual([2, 12, 64]);
  });

  it('round-trips every numeric dtype', () => {
    const inputs = new Map([
      ['a', tensorFromValues(dtypeFromName('float32')!, [2, 2], [1, -2.5, 3, 4])],
      ['b', tensorFromValues(dtypeFromName('int64')!, [3], [1n, -2n, 2n ** 62n])],
      ['c', tensorFromValues(dtypeFromName('bool')!, [2], [1, 0])],
      ['d', tensorFromValues(dtypeFromName('uint8')!, [0], [])],
    ]);
    const text = formatBundle({ inputs });
    const back = parseBundle(text);
    for (const [k, t] of inputs) {
      const u = back.inputs.get(k)!;
      expect(u.dtype).toBe(t.dtype);
      expect(u.dims).toEqual(t.dims);
      expect(u.bytes).toEqual(t.bytes);
    }
    expect(JSON.parse(text).inputs.c.dtype).toBe('bool');
  });

  it('base64 matches Node for every length', () => {
    const next = rng(3);
    for (let n = 0; n < 70; n++) {
      const b = new Uint8Array(n).map(() => Math.floor(next() * 256));
      expect(base64Encode(b)).toBe(Buffer.from(b).toString('base64'));
      expect(base64Decode(Buffer.from(b).toString('base64'))).toEqual(b);
    }
  });

  it('rejects malformed entries with a clear message', () => {
    expect(() => parseBundle('{')).toThrow(/not valid JSON/);
    expect(() => parseBundle('[]')).toThrow(/must be a JSON object/);
    expect(() => parseBundle('{"inputs": {"x": {"dtype": "float33", "shape": [1], "data": ""}}}')).toThrow(/inputs.x: unknown dtype/);
    expect(() => parseBundle('{"inputs": {"x": {"dtype": "float32", "shape": [2], "data": "AAAAAA=="}}}')).toThrow(/4 bytes, float32\[2\] needs 8/);
    expect(() => parseBundle('{"inputs": {"x": {"dtype": "float32", "shape": [-1], "data": ""}}}')).toThrow(/non-negative/);
  });
});
