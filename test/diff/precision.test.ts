/**
 * `--precision int8` for the ONNX Runtime target: what is quantized and how (per output column, symmetric), the
 * measured accuracy kept in the plan, `--keep-fp32`, `--min-cosine` rejecting a plan, and every model verifying on
 * cpu and wasm by the same metric.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { matchesAny, quantizeColumns } from '../../src/backends/ort/quantize.js';
import { decodeModelBytes } from '../../src/frontend/onnx/index.js';
import { msgraph } from '../helpers/cli.js';
import { MODELS_DIR, skipIfNone, ZOO_DIR, zooModels } from '../helpers/ort.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-int8-'));
const bert = path.join(MODELS_DIR, 'bert.onnx');
const bertInputs = path.join(MODELS_DIR, 'bert.io.json');

describe('int8 weights', () => {
  it('one symmetric scale per output column; every value within half a step', () => {
    // [K=3, N=2], and the same matrix stored transposed ([N, K], Gemm transB=1).
    const w = new Float32Array([0.5, -2, -1, 0.25, 0.1, 1]);
    const t = new Float32Array([0.5, -1, 0.1, -2, 0.25, 1]);
    for (const [m, transposed] of [[w, false], [t, true]] as const) {
      const { q, scale } = quantizeColumns(m, 3, 2, transposed);
      expect([...scale]).toEqual([Math.fround(1 / 127), Math.fround(2 / 127)]);
      for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) expect(Math.abs(q[i * 2 + j]! * scale[j]! - w[i * 2 + j]!)).toBeLessThanOrEqual(scale[j]! / 2 + 1e-7);
      expect(Math.max(...q.map(Math.abs))).toBe(127);
    }
    // An all-zero column does not divide by zero.
    expect([...quantizeColumns(new Float32Array(4), 2, 2, false).scale]).toEqual([1, 1]);
  });

  it('--keep-fp32 matches node or weight names, exactly or with *', () => {
    expect(matchesAny(['/encoder/layer.0/MatMul', 'w1'], ['w1'])).toBe(true);
    expect(matchesAny(['/encoder/layer.0/MatMul', 'w1'], ['/encoder/layer.0/*'])).toBe(true);
    expect(matchesAny(['/encoder/layer.10/MatMul'], ['/encoder/layer.1/*'])).toBe(false);
    expect(matchesAny(['a.b'], ['a*b'])).toBe(true);
    expect(matchesAny(['axb'], ['a.b'])).toBe(false);
  });
});

describe('compile --precision int8', () => {
  it('quantizes the MatMuls and the embedding table of the BERT encoder, records the accuracy, shrinks the file', () => {
    const dir = tmp();
    const out = path.join(dir, 'b.onnx');
    const r = msgraph(['compile', bert, '-o', out, '--precision', 'int8', '--inputs', bertInputs]);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(fs.readFileSync(`${out}.plan.json`, 'utf8'));
    const p = plan.precision;
    const original = decodeModelBytes(new Uint8Array(fs.readFileSync(bert)));
    const withWeights = [...original.graph].filter((n) => (n.op === 'MatMul' || n.op === 'Gemm') && n.inputs[1]?.const).length;
    expect(p.mode).toBe('int8');
    expect(p.quantized).toBe(withWeights);
    // Word and position tables (4096 elements and more); the 2-row token-type table stays float32.
    const tables = [...original.graph].filter((n) => n.op === 'Gather' && n.inputs[0]?.const?.dims.length === 2);
    expect(p.embeddings).toBe(tables.filter((n) => n.inputs[0]!.const!.size >= 4096).length);
    expect(p.embeddings).toBeGreaterThanOrEqual(1);
    expect(p.kept).toEqual([]);
    expect(p.min_cosine).toBe(0.999);
    expect(p.accuracy.map((a: { name: string }) => a.name).sort()).toEqual(['last_hidden_state', 'pooler_output']);
    for (const a of p.accuracy) expect(a.cosine).toBeGreaterThanOrEqual(0.999);
    expect(p.size_ratio).toBeLessThan(0.6);
    const compiled = decodeModelBytes(new Uint8Array(fs.readFileSync(out)));
    expect([...compiled.graph].filter((n) => n.op === 'DynamicQuantizeMatMul' && n.domain === 'com.microsoft').length).toBe(withWeights);
    expect([...compiled.graph].some((n) => (n.op === 'MatMul' || n.op === 'Gemm') && n.inputs[1]?.const)).toBe(false);
    expect(r.stderr).toMatch(/int8 last_hidden_state: cosine 0\.99\d+/);
    // Without --precision nothing changes: no precision record, no contrib quantized op.
    expect(msgraph(['compile', bert, '-o', out]).code).toBe(0);
    expect(JSON.parse(fs.readFileSync(`${out}.plan.json`, 'utf8')).precision).toBeUndefined();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('fp16: weights stored in float16 behind Casts, the file halved, outputs as float32 computes them', () => {
    const dir = tmp();
    const out = path.join(dir, 'b.onnx');
    const r = msgraph(['compile', bert, '-o', out, '--precision', 'fp16', '--inputs', bertInputs]);
    expect(r.code, r.stderr).toBe(0);
    const p = JSON.parse(fs.readFileSync(`${out}.plan.json`, 'utf8')).precision;
    expect(p.mode).toBe('fp16');
    expect(p.converted).toBeGreaterThan(20);
    expect(p.weight_bytes_fp16 * 2).toBe(p.weight_bytes_fp32);
    expect(p.size_ratio).toBeLessThan(0.6);
    for (const a of p.accuracy) expect(a.cosine).toBeGreaterThanOrEqual(0.99999);
    const compiled = decodeModelBytes(new Uint8Array(fs.readFileSync(out)));
    const halves = compiled.graph.initializers.filter((v) => v.const!.dtype.name === 'float16');
    expect(halves.length).toBe(p.converted);
    // Each half weight is read through one Cast to float32; inputs and outputs keep their dtypes.
    for (const h of halves) expect(h.uses.map((u) => `${u.node.op}:${u.node.attrs.get('to')?.value}`)).toEqual(['Cast:1']);
    expect(compiled.graph.outputs.map((v) => (v.type?.kind === 'tensor' ? v.type.dtype?.name : null))).toEqual(['float32', 'float32']);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('--keep-fp32 keeps the named layers in float32', () => {
    const dir = tmp();
    const out = path.join(dir, 'b.onnx');
    const all = msgraph(['compile', bert, '-o', out, '--precision', 'int8']);
    expect(all.code, all.stderr).toBe(0);
    const n = JSON.parse(fs.readFileSync(`${out}.plan.json`, 'utf8')).precision.quantized;
    const kept = msgraph(['compile', bert, '-o', out, '--precision', 'int8', '--keep-fp32', '/layer.0/*', '--keep-fp32', '/pooler/*']);
    expect(kept.code, kept.stderr).toBe(0);
    const p = JSON.parse(fs.readFileSync(`${out}.plan.json`, 'utf8')).precision;
    expect(p.kept.length).toBeGreaterThanOrEqual(2);
    expect(p.kept.every((k: string) => k.startsWith('/layer.0/') || k.startsWith('/pooler/'))).toBe(true);
    expect(p.quantized + p.kept.length).toBe(n);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a plan below --min-cosine is refused with exit 1, naming the output; nothing is written', () => {
    const dir = tmp();
    const r = msgraph(['compile', bert, '-o', path.join(dir, 'b.onnx'), '--precision', 'int8', '--min-cosine', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/int8 plan rejected: output "(last_hidden_state|pooler_output)" has cosine similarity 0\.\d+ to the float32 plan, below --min-cosine 1/);
    expect(fs.readdirSync(dir)).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is refused for the MindSpore target and for an EP without the kernel', () => {
    const m = msgraph(['compile', bert, '--target', 'mindspore', '-o', path.join(tmp(), 'pkg'), '--precision', 'int8']);
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/--precision is for the ONNX Runtime target/);
    const w = msgraph(['compile', bert, '-o', path.join(tmp(), 'b.onnx'), '--precision', 'int8', '--ep', 'webgpu']);
    expect(w.code).toBe(2);
    expect(w.stderr).toMatch(/DynamicQuantizeMatMul, which the webgpu execution provider has no kernel for/);
  });
});

describe('verify --precision int8 and fp16 on cpu and wasm', () => {
  const models = [bert, ...zooModels()];
  skipIfNone(zooModels(), 'zoo');
  for (const file of models) {
    for (const [precision, ep] of [['int8', 'cpu'], ['int8', 'wasm'], ['fp16', 'cpu'], ['fp16', 'wasm']]) {
      it(`${path.relative(path.dirname(ZOO_DIR), file)}: ${precision} on ${ep}`, () => {
        const bundle = file.replace(/\.onnx$/, '.io.json');
        const r = msgraph(['verify', file, '--precision', precision!, '--ep', ep!, '--inputs', bundle, '--json']);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        const j = JSON.parse(r.stdout);
        expect(j.ok).toBe(true);
        for (const o of j.outputs) expect(o.cosine, o.name).toBeGreaterThanOrEqual(0.999);
      });
    }
  }
});
