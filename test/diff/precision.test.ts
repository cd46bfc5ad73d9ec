/**
 * `--precision int8|int4|fp16` for the ONNX Runtime target: what is quantized and how, fp16 storage and compute,
 * float16 I/O, the measured accuracy kept in the plan, `--keep-fp32` (names and `auto`), `--per-node`,
 * `--min-cosine` rejecting a plan, and every model verifying on cpu and wasm in each mode by the same metric.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { matchesAny, quantizeColumns } from '../../src/backends/ort/quantize.js';
import { concatChunks, decodeModelBytes, encodeModelBytes } from '../../src/frontend/onnx/index.js';
import { Model } from '../../src/ir/model.js';
import { Builder } from '../helpers/builder.js';
import { msgraph } from '../helpers/cli.js';
import { compileForOrt, type OrtCompileOptions } from '../../src/backends/ort/compile.js';
import { loadModelFile } from '../../src/frontend/onnx/node-fs.js';
import { MODELS_DIR, rng, skipIfNone, ZOO_DIR, zooModels } from '../helpers/ort.js';

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

/**
 * x -> fc1 -> Relu -> fc2 -> Relu -> fc3. fc1's first channel is dead after the Relu, and fc2's weights read from it
 * are 100: harmless in float32, but per-column int8 scales then round every other fc2 weight to 0.
 */
function outlierMlp(file: string, rows = 32): void {
  const r = rng(11);
  const b = new Builder('mlp');
  const rand = (n: number) => Array.from({ length: n }, () => (r() - 0.5) * 0.2);
  const x = b.input('x', [rows, 64]);
  const w1 = rand(64 * 64);
  for (let i = 0; i < 64; i++) w1[i * 64] = 0;
  const b1 = rand(64).map((v, i) => (i === 0 ? -1 : v + 0.1));
  const w2 = rand(64 * 32);
  for (let j = 0; j < 32; j++) w2[j] = 100;
  const h1 = b.op('Relu', [b.op('Add', [b.op('MatMul', [x, b.constant('w1', w1, [64, 64])], { name: 'fc1' }).outputs[0]!, b.constant('b1', b1)]).outputs[0]!]).outputs[0]!;
  const h2 = b.op('Relu', [b.op('MatMul', [h1, b.constant('w2', w2, [64, 32])], { name: 'fc2' }).outputs[0]!]).outputs[0]!;
  const y = b.op('MatMul', [h2, b.constant('w3', rand(32 * 16), [32, 16])], { name: 'fc3' }).outputs[0]!;
  y.name = 'y';
  b.output(y);
  fs.writeFileSync(file, concatChunks(encodeModelBytes(new Model(b.graph, 8, new Map([['', 17]]))).chunks));
}

describe('int4, fp16 compute, float16 I/O, --per-node, --keep-fp32 auto', () => {
  it('int4: MatMulNBits with 4-bit blocks; --keep-fp32 auto keeps the layers that lose most until the bound holds', () => {
    const dir = tmp();
    const out = path.join(dir, 'b.onnx');
    const plain = msgraph(['compile', bert, '-o', out, '--precision', 'int4', '--inputs', bertInputs, '--min-cosine', '0.99']);
    expect(plain.code, plain.stderr).toBe(0);
    const p4 = JSON.parse(fs.readFileSync(`${out}.plan.json`, 'utf8')).precision;
    const compiled = decodeModelBytes(new Uint8Array(fs.readFileSync(out)));
    const nbits = [...compiled.graph].filter((n) => n.op === 'MatMulNBits' && n.domain === 'com.microsoft');
    expect(nbits.length).toBe(p4.quantized);
    for (const n of nbits) expect(Object.fromEntries([...n.attrs].map(([k, a]) => [k, Number(a.value)]))).toMatchObject({ bits: 4, block_size: 32 });
    expect(p4.size_ratio).toBeLessThan(0.3);
    const auto = msgraph(['compile', bert, '-o', out, '--precision', 'int4', '--inputs', bertInputs, '--keep-fp32', 'auto']);
    expect(auto.code, auto.stderr).toBe(0);
    const pa = JSON.parse(fs.readFileSync(`${out}.plan.json`, 'utf8')).precision;
    expect(pa.auto_kept.length).toBeGreaterThan(0);
    expect(pa.kept).toEqual(expect.arrayContaining(pa.auto_kept));
    for (const a of pa.accuracy) expect(a.cosine).toBeGreaterThanOrEqual(0.999);
    expect(auto.stderr).toMatch(/keeping in float32: /);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('--keep-fp32 auto finds the one layer int8 cannot hold (outlier weights) and keeps only it', () => {
    const dir = tmp();
    const file = path.join(dir, 'mlp.onnx');
    outlierMlp(file);
    const bad = msgraph(['compile', file, '-o', path.join(dir, 'q.onnx'), '--precision', 'int8', '--per-node']);
    expect(bad.code).toBe(1);
    // The first value below the bound is fc2's output, and fc2 is the layer that loses most.
    expect(bad.stderr).toMatch(/first below the bound: value \S+ from node fc2_int8/);
    expect(bad.stderr).toMatch(/layers losing most[^\n]*\n\s+fc2 \(com\.microsoft\.DynamicQuantizeMatMul\)/);
    const r = msgraph(['compile', file, '-o', path.join(dir, 'q.onnx'), '--precision', 'int8', '--keep-fp32', 'auto']);
    expect(r.code, r.stderr).toBe(0);
    const p = JSON.parse(fs.readFileSync(path.join(dir, 'q.onnx.plan.json'), 'utf8')).precision;
    expect(p.auto_kept).toEqual(['fc2']);
    expect(p.quantized).toBe(2);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('int8 leaves matrix-vector products (fewer than 16 activation rows, known from the shapes) in float32', () => {
    const dir = tmp();
    const file = path.join(dir, 'mlp.onnx');
    outlierMlp(file, 4);
    const r = msgraph(['compile', file, '-o', path.join(dir, 'q.onnx'), '--precision', 'int8', '--min-cosine', '0']);
    expect(r.code, r.stderr).toBe(0);
    const p = JSON.parse(fs.readFileSync(path.join(dir, 'q.onnx.plan.json'), 'utf8')).precision;
    expect(p).toMatchObject({ quantized: 0, few_rows: 3 });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('fp16 compute with float16 I/O: heavy ops in float16, softmax/norm statistics in float32, float16 outputs; run takes a float32 bundle', () => {
    const dir = tmp();
    const out = path.join(dir, 'b.onnx');
    const r = msgraph(['compile', bert, '-o', out, '--precision', 'fp16', '--fp16', 'compute', '--io-dtype', 'fp16', '--inputs', bertInputs]);
    expect(r.code, r.stderr).toBe(0);
    const p = JSON.parse(fs.readFileSync(`${out}.plan.json`, 'utf8')).precision;
    expect(p).toMatchObject({ mode: 'fp16', compute: 'fp16', io: 'fp16' });
    expect(p.fp16_nodes).toBeGreaterThan(20);
    for (const a of p.accuracy) {
      expect(a.cosine).toBeGreaterThanOrEqual(0.9999);
      expect(a.max_rel).toBeLessThan(1e-2);
    }
    const m = decodeModelBytes(new Uint8Array(fs.readFileSync(out)));
    const dt = (n: { outputs: readonly ({ type: unknown } | null)[] }) => (n.outputs[0]?.type as { dtype?: { name: string } } | undefined)?.dtype?.name;
    const ops = [...m.graph].filter((n) => ['MatMul', 'MultiHeadAttention', 'LayerNormalization'].includes(n.op));
    expect(ops.length).toBeGreaterThan(10);
    for (const n of ops) expect(dt(n), `${n.op} ${n.name}`).toBe('float16');
    expect(m.graph.outputs.map((v) => (v.type as { dtype?: { name: string } }).dtype?.name)).toEqual(['float16', 'float16']);
    expect(stderrOf(r)).toMatch(/node\(s\) computing in float16/);
    const run = msgraph(['run', out, '--inputs', bertInputs, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).outputs.map((o: { dtype: string }) => o.dtype)).toEqual(['float16', 'float16']);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('verify --precision --per-node reports every shared value and the layers by loss', () => {
    const r = msgraph(['verify', bert, '--precision', 'int8', '--inputs', bertInputs, '--per-node', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.per_node.values).toBeGreaterThan(10);
    expect(j.per_node.layers.length).toBeGreaterThan(5);
    for (const l of j.per_node.layers) expect(l.output_cosine).toBeLessThanOrEqual(1);
  });

  it('the precision modes are target passes: verified after each (node checks, inference again), printable', () => {
    const cases: [Partial<OrtCompileOptions>, string[]][] = [
      [{ precision: 'int8' }, ['quantize-int8']], [{ precision: 'int4', ioDtype: 'fp16' }, ['quantize-int4', 'half-io']],
      [{ precision: 'fp16' }, ['store-fp16']], [{ precision: 'fp16', fp16: 'compute', ioDtype: 'fp16' }, ['compute-fp16', 'store-fp16']],
    ];
    for (const [opts, passes] of cases) {
      const printed: string[] = [];
      const r = compileForOrt(loadModelFile(bert), { ...opts, verifyEach: true, printAfter: passes, onPrint: (p) => printed.push(p) });
      expect(printed, JSON.stringify(opts)).toEqual(passes);
      expect(r.plan.precision).toMatchObject({ mode: opts.precision });
    }
  });

  it('usage errors: --fp16 without --precision fp16, --io-dtype fp16 with fp32, auto outside compile', () => {
    expect(msgraph(['compile', bert, '-o', path.join(tmp(), 'b.onnx'), '--fp16', 'compute']).stderr).toMatch(/--fp16 goes with --precision fp16/);
    expect(msgraph(['compile', bert, '-o', path.join(tmp(), 'b.onnx'), '--io-dtype', 'fp16']).stderr).toMatch(/--io-dtype fp16 needs --precision/);
    const v = msgraph(['verify', bert, '--precision', 'int8', '--keep-fp32', 'auto']);
    expect(v.code).toBe(2);
    expect(v.stderr).toMatch(/--keep-fp32 auto is for compile/);
  });
});

const stderrOf = (r: { stderr: string }) => r.stderr;

describe('verify --precision in every mode on cpu and wasm', () => {
  const models = [bert, ...zooModels()];
  skipIfNone(zooModels(), 'zoo');
  // int4 is lossy by design (4-bit weights, no layer kept): its bound is lower; see the README's table.
  const modes: [string, string[], number][] = [
    ['int8', [], 0.999], ['fp16', [], 0.999], ['fp16', ['--fp16', 'compute'], 0.999], ['int4', [], 0.95],
  ];
  for (const file of models) {
    for (const [precision, extra, bound] of modes) {
      for (const ep of ['cpu', 'wasm']) {
        it(`${path.relative(path.dirname(ZOO_DIR), file)}: ${precision}${extra.length ? ` ${extra.join(' ')}` : ''} on ${ep}`, () => {
          const bundle = file.replace(/\.onnx$/, '.io.json');
          const r = msgraph(['verify', file, '--precision', precision, ...extra, '--ep', ep, '--inputs', bundle, '--json', '--min-cosine', String(bound)]);
          expect(r.code, r.stdout + r.stderr).toBe(0);
          const j = JSON.parse(r.stdout);
          expect(j.ok).toBe(true);
          for (const o of j.outputs) expect(o.cosine, o.name).toBeGreaterThanOrEqual(bound);
        });
      }
    }
  }
});
