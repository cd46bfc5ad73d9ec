/**
 * The ONNX Runtime backend: compiled models verify against the originals on cpu and wasm, run reproduces torch's
 * outputs, the memory plan, --shape specialisation, per-node bisection of a planted bad rewrite, pass
 * idempotence, and the CLI's run/verify/bench with their one-line errors.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModelFile } from '../../src/frontend/onnx/node-fs.js';
import { concatChunks, decodeModelBytes, encodeModelBytes } from '../../src/frontend/onnx/index.js';
import { compileForOrt } from '../../src/backends/ort/compile.js';
import { verifyModels } from '../../src/backends/ort/verify.js';
import { createSession } from '../../src/backends/ort/session.js';
import { parseBundle, formatBundle } from '../../src/ir/bundle.js';
import { runPasses } from '../../src/passes/manager.js';
import { DEFAULT_PIPELINE } from '../../src/passes/registry.js';
import { toMint } from '../../src/dialect/to-mint.js';
import { printGraph } from '../../src/ir/print.js';
import { committedModels, corpusModels, inputElements, inputsFor, MODELS_DIR, runOnnx, skipIfNone, ZOO_DIR, zooModels } from '../helpers/ort.js';
import { relError } from '../helpers/standin.js';
import { CLI, msgraph } from '../helpers/cli.js';

const files = [...committedModels(), ...zooModels(), ...corpusModels()];
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-ort-'));
const bytes = (m: ReturnType<typeof loadModelFile>) => concatChunks(encodeModelBytes(m).chunks);
const results: string[] = [];
afterAll(() => results.length && console.log(`ORT backend:\n${results.join('\n')}`));

describe('compiled models verify against the originals', () => {
  for (const ep of ['cpu', 'wasm'] as const) {
    for (const file of files) {
      const name = path.basename(file);
      it(`${ep}: ${name}`, async (ctx) => {
        const model = loadModelFile(file);
        if (inputElements(model) > 8_000_000) return ctx.skip('inputs too large to feed here (weights passed as inputs)');
        const feeds = inputsFor(file, model);
        try {
          await runOnnx(file, feeds, { loadOnly: true });
          await runOnnx(file, feeds);
        } catch (e) {
          return ctx.skip(`onnxruntime cannot run the original: ${(e as Error).message.split('\n')[0]}`);
        }
        const res = compileForOrt(loadModelFile(file), { ep, verifyEach: true });
        const report = await verifyModels(fs.readFileSync(file), bytes(res.model), feeds, { ep, rtol: 1e-4, atol: 1e-5 });
        for (const c of report.outputs) expect(c.ok, `${c.name}: max rel ${c.maxRel} ${c.problem ?? ''}`).toBe(true);
        if (ep === 'cpu') results.push(`  ${name}: ${model.graph.nodeCount} -> ${res.model.graph.nodeCount} nodes`);
      });
    }
  }
});

describe('run reproduces torch', () => {
  skipIfNone(zooModels(), 'zoo');
  for (const file of zooModels()) {
    it(`${path.basename(file)}: outputs equal the torch outputs in the bundle (rel 1e-4)`, async () => {
      const bundle = parseBundle(fs.readFileSync(file.replace(/\.onnx$/, '.io.json'), 'utf8'));
      const res = compileForOrt(loadModelFile(file), {});
      const s = await createSession(bytes(res.model));
      const out = await s.run(bundle.inputs);
      await s.release();
      for (const [name, want] of bundle.outputs) expect(relError(want, out.get(name)!), name).toBeLessThanOrEqual(1e-4);
    });
  }

  it('the CLI writes a bundle whose outputs match', () => {
    const out = path.join(tmp(), 'out.json');
    const r = msgraph(['run', path.join(MODELS_DIR, 'bert.onnx'), '--inputs', path.join(MODELS_DIR, 'bert.io.json'), '-o', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^last_hidden_state: float32\[\d+,\d+,64\] min \S+ max \S+ mean \S+$/m);
    const got = parseBundle(fs.readFileSync(out, 'utf8')).outputs;
    const want = parseBundle(fs.readFileSync(path.join(MODELS_DIR, 'bert.io.json'), 'utf8')).outputs;
    for (const [name, t] of want) expect(relError(t, got.get(name)!)).toBeLessThanOrEqual(1e-4);
  });
});

describe('plan', () => {
  const unet = path.join(ZOO_DIR, 'unet.onnx');
  it.skipIf(!fs.existsSync(unet))('memory plan on the UNet: never above the naive sum, at most 0.6x of it', () => {
    for (const shapes of [{}, { sample: [1, 4, 32, 32], timestep: [1], encoder_hidden_states: [1, 8, 32] }]) {
      const res = compileForOrt(loadModelFile(unet), { shapes });
      const m = res.plan.memory;
      expect(m.unsized).toEqual([]);
      expect(m.planned_bytes).toBeLessThanOrEqual(m.naive_bytes);
      expect(m.peak_live_bytes).toBeLessThanOrEqual(m.planned_bytes);
      expect(m.ratio).toBeLessThanOrEqual(0.6);
      results.push(`  unet memory ${JSON.stringify(shapes) === '{}' ? '(symbolic dims = 1)' : '(1x4x32x32)'}: planned ${m.planned_bytes} B, naive ${m.naive_bytes} B, ratio ${m.ratio.toFixed(3)}, peak live ${m.peak_live_bytes} B`);
    }
  });

  it.skipIf(!zooModels().length)('never exceeds the naive sum on any zoo model, and lists nodes in order with types and FLOPs', () => {
    for (const file of zooModels()) {
      const res = compileForOrt(loadModelFile(file), {});
      expect(res.plan.memory.planned_bytes).toBeLessThanOrEqual(res.plan.memory.naive_bytes);
      expect(res.plan.nodes.length).toBe(res.model.graph.nodeCount);
      expect(res.plan.nodes.every((n, i) => n.index === i)).toBe(true);
      expect(res.plan.total_flops).toBeGreaterThan(0);
    }
  });

  it('--shape specialisation folds static shape arithmetic away', () => {
    const dyn = compileForOrt(loadModelFile(path.join(MODELS_DIR, 'unet_tiny.onnx')), {});
    const fixed = compileForOrt(loadModelFile(path.join(MODELS_DIR, 'unet_tiny.onnx')), { shapes: { sample: [1, 4, 16, 16], timestep: [1], encoder_hidden_states: [1, 8, 16] } });
    const count = (m: typeof dyn.model, op: string) => m.graph.nodes.filter((n) => n.op === op).length;
    expect(count(dyn.model, 'Shape')).toBeGreaterThan(0);
    expect(count(dyn.model, 'MultiHeadAttention')).toBe(14);
    expect(count(fixed.model, 'Shape')).toBe(0);
    expect(fixed.model.graph.nodeCount).toBeLessThan(dyn.model.graph.nodeCount);
    expect(fixed.plan.inputs[0]!.shape).toEqual([1, 4, 16, 16]);
    results.push(`  unet_tiny nodes: 3194 original, ${dyn.model.graph.nodeCount} compiled (dynamic), ${fixed.model.graph.nodeCount} (--shape 1x4x16x16 etc.)`);
  });
});

describe('passes', () => {
  for (const file of [...committedModels(), ...zooModels()]) {
    it(`${path.basename(file)}: the default pipeline is idempotent and keeps the IR valid`, () => {
      const m = loadModelFile(file);
      toMint(m);
      runPasses(m, DEFAULT_PIPELINE, { verifyEach: true });
      const once = printGraph(m.graph);
      const again = runPasses(m, DEFAULT_PIPELINE, { verifyEach: true });
      expect(again.filter((r) => r.modified).map((r) => `${r.name} ${JSON.stringify(r.stats)}`)).toEqual([]);
      expect(printGraph(m.graph)).toBe(once);
    });
  }
});

describe('verify --per-node finds a planted bad rewrite', () => {
  it('names the node whose result diverges first', async () => {
    const file = path.join(MODELS_DIR, 'unet_tiny.onnx');
    const res = compileForOrt(loadModelFile(file), {});
    // Plant a wrong rewrite: the third SiLU of the compiled graph (QuickGelu with alpha 1) becomes a GELU (same
    // shape, wrong values).
    const victim = res.model.graph.nodes.filter((n) => n.op === 'QuickGelu')[2]!;
    victim.op = 'Gelu';
    victim.attrs.delete('alpha');
    const dir = tmp();
    const bad = path.join(dir, 'bad.onnx');
    fs.writeFileSync(bad, bytes(res.model));
    const r = msgraph(['verify', file, '--compiled', bad, '--inputs', path.join(MODELS_DIR, 'unet_tiny.io.json'), '--per-node', '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(false);
    expect(report.firstDivergence.node).toBe(victim.name);
    expect(report.firstDivergence.op).toMatch(/Gelu$/);
    const text = msgraph(['verify', file, '--compiled', bad, '--inputs', path.join(MODELS_DIR, 'unet_tiny.io.json'), '--per-node']);
    expect(text.stdout).toContain(`first divergence: value ${victim.outputs[0]!.name} from node ${victim.name} (${report.firstDivergence.op})`);
    expect(text.stdout).toMatch(/FAIL\n$/);
  });
});

describe('CLI', () => {
  it('compile --target onnx writes the model and its plan', () => {
    const out = path.join(tmp(), 'sub', 'm.onnx');
    const r = msgraph(['compile', path.join(MODELS_DIR, 'unet_tiny.onnx'), '-o', out, '--shape', 'sample=1x4x8x8', '--shape', 'timestep=1', '--shape', 'encoder_hidden_states=1x4x16']);
    expect(r.code).toBe(0);
    const plan = JSON.parse(fs.readFileSync(`${out}.plan.json`, 'utf8'));
    expect(plan.format).toBe('msgraph-plan/1');
    expect(plan.ep).toBe('cpu');
    expect(plan.specialized.sample).toEqual([1, 4, 8, 8]);
    expect(plan.memory.planned_bytes).toBeLessThanOrEqual(plan.memory.naive_bytes);
    expect(plan.passes.map((p: { name: string }) => p.name)).toEqual([...DEFAULT_PIPELINE]);
    expect(decodeModelBytes(fs.readFileSync(out)).graph.nodeCount).toBe(plan.node_count);
    // A compiled model with its plan runs as is.
    expect(msgraph(['run', out]).code).toBe(0);
  });

  it('verify passes on cpu and wasm, and labels the MindSpore stand-in', () => {
    for (const ep of ['cpu', 'wasm']) {
      const r = msgraph(['verify', path.join(MODELS_DIR, 'upsampler.onnx'), '--ep', ep, '--shape', 'input=1x3x8x8']);
      expect(r.stdout).toMatch(/PASS\n$/);
      expect(r.code).toBe(0);
    }
  });

  it('bench reports both models and their ratio', () => {
    const r = msgraph(['bench', path.join(MODELS_DIR, 'upsampler.onnx'), '--shape', 'input=1x3x8x8', '--runs', '4', '--warmup', '1', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.original.runs).toBe(4);
    expect(j.compiled.runs).toBe(4);
    // The ratio is the one the two medians give, and each summary is ordered.
    expect(j.speedup).toBeCloseTo(j.original.median_ms / j.compiled.median_ms, 6);
    for (const s of [j.original, j.compiled]) expect(s.p90_ms).toBeGreaterThanOrEqual(s.median_ms);
  });

  it('bad inputs are one-line errors with exit 2', () => {
    const dir = tmp();
    const bert = path.join(MODELS_DIR, 'bert.onnx');
    const bundle = parseBundle(fs.readFileSync(path.join(MODELS_DIR, 'bert.io.json'), 'utf8'));
    const write = (name: string, inputs: typeof bundle.inputs) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, formatBundle({ inputs }));
      return f;
    };
    const missing = new Map(bundle.inputs);
    missing.delete('attention_mask');
    const ids = bundle.inputs.get('input_ids')!;
    const wrongType = new Map(bundle.inputs);
    wrongType.set('input_ids', bundle.inputs.get('attention_mask')!.dtype === ids.dtype ? bundle.outputs.values().next().value! : bundle.inputs.get('attention_mask')!);
    const cases: [string[], RegExp][] = [
      [['run', bert, '--inputs', write('missing.json', missing)], /input attention_mask is missing from the bundle/],
      [['run', bert, '--inputs', write('type.json', wrongType)], /input input_ids is (float32|int64|bool|int32), the model wants/],
      [['run', bert], /symbolic dim batch is unbound/],
      [['run', bert, '--ep', 'cuda'], /CUDA execution provider needs/],
      [['run', bert, '--ep', 'tpu'], /unknown execution provider "tpu"/],
      [['compile', bert, '-o', path.join(dir, 'x.onnx'), '--shape', 'nope=1x2'], /the model has no input nope/],
      [['compile', bert, '-o', path.join(dir, 'x.onnx'), '--shape', 'input_ids=1x2x3'], /rank 3, but the input has rank 2/],
      [['verify', bert, '--inputs', path.join(dir, 'none.json')], /no such file/],
    ];
    for (const [args, re] of cases) {
      const r = msgraph(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(re);
    }
    expect(fs.existsSync(path.join(dir, 'x.onnx'))).toBe(false);
  });

  it('Ctrl-C leaves no partial output', async () => {
    const dir = tmp();
    const out = path.join(dir, 'm.onnx');
    const unet = fs.existsSync(path.join(ZOO_DIR, 'unet.onnx')) ? path.join(ZOO_DIR, 'unet.onnx') : path.join(MODELS_DIR, 'unet_tiny.onnx');
    for (const delay of [150, 400, 900]) {
      const child = spawn(process.execPath, [CLI, 'compile', unet, '-o', out], { stdio: 'ignore' });
      const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGINT');
      const code = await exited;
      const left = fs.readdirSync(dir);
      expect(left.filter((f) => f.includes('.tmp'))).toEqual([]);
      // Interrupted (130, or killed by the signal before the handler was installed): nothing was written.
      if (code === 130 || code === null) expect(left).toEqual([]);
      else {
        expect(code).toBe(0);
        expect(decodeModelBytes(fs.readFileSync(out)).graph.nodeCount).toBeGreaterThan(0);
        JSON.parse(fs.readFileSync(`${out}.plan.json`, 'utf8'));
      }
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir);
    }
  });
});
