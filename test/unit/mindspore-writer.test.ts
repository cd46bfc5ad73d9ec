/** Namer, Python literals and the weight file writers of the MindSpore backend. */
import { describe, expect, it } from 'vitest';
import { loopChains } from '../../src/backends/mindspore/loops.js';
import { Mod } from '../../src/backends/mindspore/cells.js';
import { Namer, className, identifier, pyComment, pyFloat, pyString } from '../../src/backends/mindspore/python.js';
import { ckptChunks, safetensorsChunks } from '../../src/backends/mindspore/weights.js';
import { transpose2d } from '../../src/backends/mindspore/layers.js';
import { Tensor } from '../../src/ir/tensor.js';
import { ApiChecker } from '../../src/backends/mindspore/api.js';
import { Reader, concatChunks, type Chunk } from '../../src/frontend/onnx/protobuf.js';
import { dtypeFromName } from '../../src/ir/dtype.js';

const concat = (cs: Iterable<Chunk>) => Buffer.from(concatChunks([...cs]));

describe('Namer', () => {
  it('keeps valid names exactly, sanitises the rest and reserves keywords and module names', () => {
    const n = Namer.module();
    expect(n.exact('conv1')).toBe('conv1');
    expect(n.exact('conv1')).toBe('conv1_1');
    expect(n.take('class')).toBe('class_1');
    expect(n.take('ms')).toBe('ms_1');
    expect(n.take('__import__("os")')).toBe('import_os');
    expect(n.take('0abc')).toBe('v_0abc');
    expect(n.take('déjà vu')).toBe('deja_vu');
    expect(n.take('')).toBe('v');
    expect(identifier('/down_blocks.0/Conv')).toBe('down_blocks_0_conv');
    expect(className('down_blocks')).toBe('DownBlocks');
    expect(className('"""')).toBe('Block');
  });

  it('writes string literals and comments that cannot break out', () => {
    expect(pyString('a"b\\c\n\u2028')).toBe('"a\\"b\\\\c\\n\\u2028"');
    expect(pyComment('x"""\ny')).not.toMatch(/"""|\n/);
    expect(pyFloat(1)).toBe('1.0');
    expect(pyFloat(-Infinity)).toBe('-float("inf")');
    expect(pyFloat(0.1)).toBe('0.1');
  });
});

describe('weights', () => {
  const f32 = dtypeFromName('float32')!;
  const loads: string[] = [];
  const entry = (name: string, dtype: ReturnType<typeof dtypeFromName>, dims: number[], bytes: Uint8Array) => ({
    name, dtype: dtype!, dims, nbytes: bytes.length, load: () => (loads.push(name), bytes),
  });
  const entries = [
    entry('conv.weight', f32, [2, 2], new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer)),
    entry('bn.num_batches_tracked', dtypeFromName('int64'), [], new Uint8Array(8)),
  ];

  it('reads each weight only while the file is written, one at a time, and again on every pass', () => {
    loads.length = 0;
    const chunks = safetensorsChunks(entries);
    expect(loads).toEqual([]);
    const it = chunks[Symbol.iterator]();
    it.next();
    it.next();
    expect(loads).toEqual([]);
    it.next();
    expect(loads).toEqual(['conv.weight']);
    concat(chunks);
    concat(ckptChunks(entries));
    expect(loads).toEqual(['conv.weight', 'conv.weight', 'bn.num_batches_tracked', 'conv.weight', 'bn.num_batches_tracked']);
  });

  it('reuseBuffers: transposed weights share one buffer; a streaming writer gets the same file, a collector would not', () => {
    const t = (name: string, rows: number, cols: number, base: number) => {
      // Unaligned source bytes (offset 1), as raw data inside a protobuf often is.
      const raw = new Uint8Array(rows * cols * 4 + 1);
      raw.set(new Uint8Array(Float32Array.from({ length: rows * cols }, (_, i) => base + i).buffer), 1);
      const tensor = Tensor.fromBytes(f32, [rows, cols], raw.subarray(1), name);
      return { name, dtype: f32, dims: [cols, rows], nbytes: rows * cols * 4, load: (reuse?: boolean) => transpose2d(tensor, reuse) };
    };
    const big = [t('a.weight', 3, 5, 0), t('b.weight', 4, 2, 100)];
    const fresh = concat(safetensorsChunks(big));
    // What a file writer does: each chunk written before the next is asked for.
    const streamed: Buffer[] = [];
    for (const c of safetensorsChunks(big, {}, { reuseBuffers: true })) streamed.push(Buffer.from(c));
    expect(Buffer.concat(streamed).equals(fresh)).toBe(true);
    const ck = concat(ckptChunks(big));
    const ckStreamed: Buffer[] = [];
    for (const c of ckptChunks(big, { reuseBuffers: true })) ckStreamed.push(Buffer.from(c));
    expect(Buffer.concat(ckStreamed).equals(ck)).toBe(true);
    // Collected without copying, the two weights alias one buffer: the page must not ask for reuse.
    const kept = [...safetensorsChunks(big, {}, { reuseBuffers: true })];
    expect(kept[2]!.buffer).toBe(kept[3]!.buffer);
    // The first weight, transposed: [3, 5] -> [5, 3].
    const n = Number(fresh.readBigUInt64LE(0));
    expect([...new Float32Array(new Uint8Array(fresh.subarray(8 + n, 8 + n + 60)).buffer)]).toEqual([0, 5, 10, 1, 6, 11, 2, 7, 12, 3, 8, 13, 4, 9, 14]);
  });

  it('safetensors: 8-byte length, aligned JSON header, data offsets in order', () => {
    const b = concat(safetensorsChunks(entries, { format: 'np' }));
    const n = Number(b.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(b.subarray(8, 8 + n).toString());
    expect(header['conv.weight']).toEqual({ dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] });
    expect(header['bn.num_batches_tracked']).toEqual({ dtype: 'I64', shape: [], data_offsets: [16, 24] });
    expect(header.__metadata__).toEqual({ format: 'np' });
    expect(new Float32Array(new Uint8Array(b.subarray(8 + n, 8 + n + 16)).buffer)).toEqual(new Float32Array([1, 2, 3, 4]));
  });

  it('ckpt: concatenated Checkpoint messages with tag, dims, MindSpore dtype names and raw bytes', () => {
    const b = new Uint8Array(concat(ckptChunks(entries)));
    const r = new Reader(b);
    const seen: { tag: string; dims: number[]; type: string; size: number }[] = [];
    while (!r.done) {
      const [field] = r.tag();
      expect(field).toBe(1);
      const value = r.sub();
      const e = { tag: '', dims: [] as number[], type: '', size: 0 };
      while (!value.done) {
        const [f] = value.tag();
        if (f === 1) e.tag = value.string();
        else {
          const t = value.sub();
          while (!t.done) {
            const [tf] = t.tag();
            if (tf === 1) e.dims.push(t.varint());
            else if (tf === 2) e.type = t.string();
            else e.size = t.bytes().length;
          }
        }
      }
      seen.push(e);
    }
    expect(seen).toEqual([
      { tag: 'conv.weight', dims: [2, 2], type: 'Float32', size: 16 },
      { tag: 'bn.num_batches_tracked', dims: [0], type: 'Int64', size: 8 },
    ]);
  });
});

describe('API checker', () => {
  it('accepts calls that fit the version and names what does not', () => {
    const a = new ApiChecker('2.6.0');
    expect(a.call('mint.softmax', 'x', 'dim=-1')).toBe('mint.softmax(x, dim=-1)');
    expect(() => a.call('mint.softmax', 'x', 'axis=-1')).toThrow(/does not match MindSpore 2.6.0/);
    expect(() => a.call('mint.no_such_op', 'x')).toThrow(/not in MindSpore 2.6.0/);
    expect(() => new ApiChecker('2.4.0').call('mint.clone', 'x')).toThrow(/not in MindSpore 2.4.0 \(available in 2.5.0/);
    expect(() => new ApiChecker('1.0')).toThrow(/unknown MindSpore version/);
  });
});

describe('construct() loops over a CellList its calls chain through', () => {
  const mod = (n: number) => {
    const root = new Mod('', [], null);
    const list = new Mod('layers', ['layers'], root);
    list.cellList = true;
    list.attr = 'layers';
    for (let i = 0; i < n; i++) list.children.set(String(i), new Mod(String(i), ['layers', String(i)], list));
    root.children.set('layers', list);
    return root;
  };
  const chain = ['conv = self.conv(x)', 'layers_0 = self.layers[0](conv)', 'layers_1 = self.layers[1](layers_0)', 'layers_2 = self.layers[2](layers_1)', 'fc = self.fc(layers_2)'];

  it('a chain through the whole list becomes a for loop', () => {
    expect(loopChains(chain, mod(3))).toEqual(['conv = self.conv(x)', 'layers_2 = conv', 'for block in self.layers:', '    layers_2 = block(layers_2)', 'fc = self.fc(layers_2)']);
  });

  it('not when a middle result is read elsewhere, or the chain skips a cell of the list', () => {
    expect(loopChains([...chain, 'out = layers_0 + fc'], mod(3))).toEqual([...chain, 'out = layers_0 + fc']);
    expect(loopChains(chain, mod(4))).toEqual(chain);
  });
});
