/**
 * msgraph/browser without a browser: opening models from File-like objects (external data read in bounded slices,
 * never the whole file; missing or short files named), and the .zip writer (read back by Python's zipfile).
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openModel, compileModel, mindsporePackage, type BrowserFile } from '../../src/browser.js';
import { loadModelFile } from '../../src/frontend/onnx/node-fs.js';
import { encodeModelBytes, concatChunks } from '../../src/frontend/onnx/index.js';
import { zipChunks } from '../../src/util/zip.js';
import { MODELS_DIR } from '../helpers/ort.js';

/** A File stand-in over bytes that records every read. */
function file(name: string, bytes: Uint8Array, reads: [number, number][]): BrowserFile {
  const whole = async () => {
    reads.push([0, bytes.length]);
    return bytes.slice().buffer;
  };
  return {
    name,
    size: bytes.length,
    arrayBuffer: whole,
    slice: (start = 0, end = bytes.length) => ({
      arrayBuffer: async () => {
        reads.push([start, end]);
        return bytes.slice(start, end).buffer;
      },
    }),
  };
}

function withExternalData() {
  const m = loadModelFile(path.join(MODELS_DIR, 'bert.onnx'));
  const r = encodeModelBytes(m, { externalData: { location: 'bert.onnx.data', threshold: 1024 } });
  return { onnx: concatChunks(r.chunks), data: concatChunks(r.externalChunks) };
}

describe('openModel', () => {
  it('reads external data in bounded slices, never the data file whole, and compiles like the CLI', async () => {
    const { onnx, data } = withExternalData();
    const reads: [number, number][] = [];
    const onnxReads: [number, number][] = [];
    const seen: string[] = [];
    const m = await openModel([file('bert.onnx', onnx, onnxReads), file('bert.onnx.data', data, reads)], (what) => seen.push(what), { sliceBytes: 4096 });
    expect(m.externalBytes).toBe(data.length);
    expect(reads.length).toBeGreaterThan(data.length / 4096);
    expect(Math.max(...reads.map(([a, b]) => b - a))).toBeLessThanOrEqual(4096);
    expect(seen).toContain('reading external data');
    const c = compileModel(m, { ep: 'wasm' });
    const cli = compileModel({ ...m, load: () => loadModelFile(path.join(MODELS_DIR, 'bert.onnx')) }, { ep: 'wasm' });
    expect(c.model.graph.nodeCount).toBe(cli.model.graph.nodeCount);
    expect(c.bytes.length).toBe(cli.bytes.length);
    const pkg = mindsporePackage(m, { source: 'bert.onnx' });
    expect(pkg.modelPy).toContain('class ');
  });

  it('names a missing or short data file, and refuses escaping locations', async () => {
    const { onnx, data } = withExternalData();
    await expect(openModel([file('bert.onnx', onnx, [])])).rejects.toThrow(/bert\.onnx\.data" was not provided/);
    await expect(openModel([file('bert.onnx', onnx, []), file('bert.onnx.data', data.slice(0, 100), [])])).rejects.toThrow(/too short/);
    await expect(openModel([file('a.txt', onnx, [])])).rejects.toThrow(/no \.onnx file/);
    const evil = new TextDecoder('latin1').decode(onnx).replaceAll('bert.onnx.data', '../x/onnx.data');
    await expect(openModel([file('bert.onnx', Uint8Array.from(evil, (ch) => ch.charCodeAt(0)), [])])).rejects.toThrow(/not a path inside/);
  });
});

describe('zipChunks', () => {
  it('writes an archive Python zipfile reads back, byte for byte', () => {
    const enc = new TextEncoder();
    const big = new Uint8Array(70_000).map((_, i) => (i * 31) & 0xff);
    const entries: [string, Uint8Array[]][] = [['pkg/model.py', [enc.encode('print("hi")\n')]], ['pkg/ünï.json', [enc.encode('{}'), enc.encode('\n')]], ['pkg/w.bin', [big.subarray(0, 1000), big.subarray(1000)]], ['pkg/empty', []]];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-zip-'));
    const zip = path.join(dir, 'p.zip');
    fs.writeFileSync(zip, concatChunks(zipChunks(entries)));
    const py = 'import sys, zipfile, json, hashlib\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(json.dumps({i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist()}))';
    const got = JSON.parse(execFileSync('python3', ['-c', py, zip], { encoding: 'utf8' }));
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    expect(got).toEqual(Object.fromEntries(entries.map(([n, c]) => [n, sha(concatChunks(c))])));
    expect(() => zipChunks([['../evil', []]])).toThrow(/not relative/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
