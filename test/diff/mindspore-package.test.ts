/**
 * The MindSpore package as a user gets it: state_dict names, the API/syntax scan against MindSpore's real API
 * surface, both weight formats, run_example.py, determinism, hostile names, versions and the CLI's exit codes.
 * Execution uses the torch-backed stand-in (standin/mindspore), which is NOT MindSpore.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModelFile } from '../../src/frontend/onnx/node-fs.js';
import { concatChunks, encodeModelBytes } from '../../src/frontend/onnx/index.js';
import { buildMindSporePackage, type PackageOptions } from '../../src/backends/mindspore/package.js';
import { Model } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';
import { committedModels, corpusModels, inputsFor, MODELS_DIR, runOnnx, skipIfNone, ZOO_DIR, zooModels } from '../helpers/ort.js';
import { HAS_TORCH, PY, STANDIN_DIR, packageText, relError, runStandin, writePackage } from '../helpers/standin.js';
import { Builder, f32, i64 } from '../helpers/builder.js';
import { msgraph } from '../helpers/cli.js';
import { attentionHelper } from '../../src/backends/mindspore/attention.js';

const all = [...committedModels(), ...zooModels(), ...corpusModels()];
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-pkg-'));

/** The top Cell's docstring signature (`sample[batch, 4, height, width], ...`) of `compile --target mindspore`. */
function signature(file: string, args: string[]): string {
  const out = path.join(tmp(), 'pkg');
  const r = msgraph(['compile', file, '--target', 'mindspore', '-o', out, ...args]);
  expect(r.code, r.stderr).toBe(0);
  return /The model: ([^\n]*)/.exec(fs.readFileSync(path.join(out, 'model.py'), 'utf8'))?.[1] ?? '';
}

function emit(file: string, opts: PackageOptions = {}) {
  return buildMindSporePackage(loadModelFile(file), { source: path.basename(file), ...opts });
}

function scan(version: string, files: string[]): Record<string, string[]> {
  const r = spawnSync(PY, [path.join(STANDIN_DIR, 'scan_code.py'), version, ...files], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

async function matchesOrt(file: string, opts: PackageOptions = {}, env: Record<string, string> = {}) {
  const model = loadModelFile(file);
  const feeds = inputsFor(file, model);
  const ref = await runOnnx(file, feeds);
  const pkg = emit(file, opts);
  expect(pkg.result.fallbacks).toEqual([]);
  const run = runStandin(writePackage(pkg.files), feeds, env);
  expect(run.notLoaded).toEqual([]);
  expect(run.unused).toEqual([]);
  for (const [name, want] of ref) expect(relError(want, run.outputs.get(name)!), name).toBeLessThanOrEqual(1e-4);
  return { pkg, run };
}

describe('state_dict names', () => {
  const manifestFile = path.join(ZOO_DIR, 'manifest.json');
  const manifest: Record<string, { state_dict?: Record<string, number[]> }> = fs.existsSync(manifestFile) ? JSON.parse(fs.readFileSync(manifestFile, 'utf8')) : {};
  skipIfNone(zooModels(), 'zoo');
  for (const file of zooModels()) {
    const name = path.basename(file, '.onnx');
    it(`${name}: every parameter the ONNX file still names keeps its state_dict name`, () => {
      const sd = manifest[name]?.state_dict;
      expect(sd, 'the zoo manifest lists the state_dict').toBeDefined();
      const model = loadModelFile(file);
      const onnxNames = new Set<string>();
      for (const v of model.graph.initializers) onnxNames.add(v.name);
      for (const n of model.graph) for (const o of n.outputs) if (o && n.op === 'Identity' && n.inputs[0]?.const) onnxNames.add(o.name);
      const kept = Object.keys(sd!).filter((k) => onnxNames.has(k));
      const params = new Map(emit(file).result.params.map((p) => [p.name, p]));
      const missing = kept.filter((k) => !params.has(k));
      expect(missing).toEqual([]);
      for (const k of kept) expect(params.get(k)!.dims, k).toEqual(sd![k]);
    });
  }
});

describe('trainable ports', () => {
  const manifestFile = path.join(ZOO_DIR, 'manifest.json');
  const manifest: Record<string, { file: string; state_dict?: Record<string, number[]> }> = fs.existsSync(manifestFile) ? JSON.parse(fs.readFileSync(manifestFile, 'utf8')) : {};
  for (const name of ['vit', 'convnext', 'unet']) {
    it.skipIf(!manifest[name]?.state_dict)(`${name}: every checkpoint key is a state_dict name of that shape, and every tensor is trainable`, () => {
      const sd = manifest[name]!.state_dict!;
      const pkg = emit(path.join(ZOO_DIR, manifest[name]!.file));
      for (const p of pkg.result.params) expect(sd[p.name], p.name).toEqual(p.dims);
      const code = packageText(pkg.files, 'model.py');
      expect(code).not.toContain('requires_grad=False');
    });
  }

  it('a frequency table the export made is computed in the Cell, not a checkpoint key; a causal mask stays a buffer', () => {
    const unet = emit(path.join(MODELS_DIR, 'unet_tiny.onnx'));
    expect(unet.result.params.filter((p) => p.kind === 'constant').map((p) => p.name)).toEqual([]);
    expect(packageText(unet.files, 'model.py')).toMatch(/= mint\.exp\(mint\.arange\(0, \d+, dtype=ms\.float32\) \* -?\d/);
  });

  const gpt = zooModels().find((f) => f.endsWith('gpt.onnx'));
  it.skipIf(!gpt)('a causal mask read only by comparisons stays a Parameter without gradient (zoo gpt)', () => {
    expect(packageText(emit(gpt!).files, 'model.py')).toMatch(/self\.bias = ms\.Parameter\(.*requires_grad=False\)/);
  });
});

describe.skipIf(!HAS_TORCH)('emitted code against MindSpore\'s API surface', () => {
  it('every model at 2.6.0: APIs, keywords, tensor methods and GRAPH_MODE syntax', () => {
    const dir = tmp();
    const files: string[] = [];
    for (const f of all) {
      const d = path.join(dir, path.basename(f, '.onnx'));
      writePackage(emit(f).files, d);
      files.push(path.join(d, 'model.py'), path.join(d, 'run_example.py'));
    }
    const res = scan('2.6.0', files);
    const bad = Object.entries(res).filter(([, p]) => p.length);
    expect(bad).toEqual([]);
  });

  for (const version of ['2.4.10', '2.5.0', '2.7.0rc1', '2.7.1', '2.11.0']) {
    it(`unet_tiny and bert at ${version}: scan clean and numerics match`, async () => {
      for (const f of ['unet_tiny.onnx', 'bert.onnx']) {
        const file = path.join(MODELS_DIR, f);
        const { pkg } = await matchesOrt(file, { msVersion: version }, { MSGRAPH_STANDIN_MS_VERSION: version });
        const d = writePackage(pkg.files);
        expect(scan(version, [path.join(d, 'model.py')])).toEqual({ [path.join(d, 'model.py')]: [] });
      }
    });
  }

  // The releases a port targets: 2.4.10 (the oldest with every op the zoo needs, through fallbacks), 2.6.0 and 2.7.1
  // (mindone's range), 2.11.0 (the newest).
  const zoo = zooModels();
  for (const version of ['2.4.10', '2.6.0', '2.7.1', '2.11.0']) {
    it.skipIf(!zoo.length)(`every zoo model at ${version}: no fallback, scan clean`, () => {
      const dir = tmp();
      const files: string[] = [];
      for (const f of zoo) {
        const pkg = emit(f, { msVersion: version });
        expect(pkg.result.fallbacks.map((x) => x.reason), path.basename(f)).toEqual([]);
        files.push(path.join(writePackage(pkg.files, path.join(dir, path.basename(f, '.onnx'))), 'model.py'));
      }
      expect(Object.entries(scan(version, files)).filter(([, p]) => p.length)).toEqual([]);
    });
  }
  it.skipIf(!zoo.length)('every zoo model at 2.4.10 matches onnxruntime under the stand-in at 2.4.10', async () => {
    for (const f of zoo) await matchesOrt(f, { msVersion: '2.4.10' }, { MSGRAPH_STANDIN_MS_VERSION: '2.4.10' });
  }, 300_000);

  it('2.4.x names GroupNorm parameters gamma/beta, and 2.3.x cannot load safetensors', async () => {
    const file = path.join(MODELS_DIR, 'unet_tiny.onnx');
    const pkg = emit(file, { msVersion: '2.4.10', weights: 'ckpt' });
    const names = pkg.result.params.map((p) => p.name);
    // unet_tiny's ResNet blocks have GroupNorms named norm1: 2.4.x calls their parameters gamma/beta.
    expect(names.filter((n) => /resnets\.\d+\.norm1\.(gamma|beta)$/.test(n)).length).toBeGreaterThanOrEqual(4);
    expect(names.filter((n) => /resnets\.\d+\.norm1\.(weight|bias)$/.test(n))).toEqual([]);
    expect(() => emit(file, { msVersion: '2.3.0' })).toThrow(/cannot load safetensors/);
  });
});

describe.skipIf(!HAS_TORCH)('weights and the example script', () => {
  it('.ckpt weights load into the Cell and give the same outputs', async () => {
    await matchesOrt(path.join(MODELS_DIR, 'unet_tiny.onnx'), { weights: 'ckpt' });
    await matchesOrt(path.join(MODELS_DIR, 'upsampler.onnx'), { weights: 'ckpt' });
  });

  it('--attention flash routes the fused attention through ops.flash_attention_score (fp16, so a looser tolerance)', async () => {
    // bert: head_dim 16 (flash, its additive mask as pse); unet_tiny: head_dim 4, which the kernel cannot take (math).
    for (const [model, flash] of [['bert.onnx', true], ['unet_tiny.onnx', false]] as const) {
      const file = path.join(MODELS_DIR, model);
      const feeds = inputsFor(file, loadModelFile(file));
      const ref = await runOnnx(file, feeds);
      const pkg = emit(file, { attention: 'flash' });
      expect(pkg.result.attention.fused).toBeGreaterThan(0);
      const code = packageText(pkg.files, 'model.py');
      expect(code).toMatch(/^ATTENTION_BACKEND = "flash"$/m);
      const run = runStandin(writePackage(pkg.files), feeds);
      for (const [name, want] of ref) {
        const err = relError(want, run.outputs.get(name)!);
        expect(err, model).toBeLessThanOrEqual(flash ? 2e-2 : 1e-4);
        if (flash) expect(err, model).toBeGreaterThan(0);
      }
    }
  });

  it('the attention helper: no NaN on a fully masked row, half precision softmax in float32, flash keeps bfloat16 and broadcasts the mask', () => {
    const helper = attentionHelper('math');
    const script = [
      `import sys; sys.path.insert(0, ${JSON.stringify(STANDIN_DIR)})`,
      'import torch', 'import mindspore as ms', 'from mindspore import mint, ops', 'ATTENTION_BACKEND = "math"', helper,
      'torch.manual_seed(0)',
      'q, k, v = (torch.randn(2, 2, 5, 16) for _ in range(3))',
      'keep = torch.ones(2, 1, 5, 5, dtype=torch.bool); keep[0, 0, 3] = False',
      'out = scaled_dot_product_attention(q, k, v, 0.25, keep)',
      'assert not torch.isnan(out).any(), "NaN on a fully masked row"',
      'ref = scaled_dot_product_attention(q, k, v, 0.25, torch.where(keep, 0.0, -1e4))',
      'half = scaled_dot_product_attention(q.half(), k.half(), v.half(), 0.25, keep)',
      'assert half.dtype == torch.float16 and not torch.isnan(half).any()',
      'ATTENTION_BACKEND = "flash"',
      'bf = scaled_dot_product_attention(q.bfloat16(), k.bfloat16(), v.bfloat16(), 0.25, torch.where(keep, 0.0, -1e4))',
      'assert bf.dtype == torch.bfloat16, bf.dtype',
      'print(float((bf.float() - ref).abs().max()))',
      'fm = scaled_dot_product_attention(q, k, v, 0.25, keep[:, :, :, :])',
      'print(float((fm[1] - ref[1]).abs().max()))',
      'odd = scaled_dot_product_attention(q[..., :8], k[..., :8], v[..., :8], 0.25)',
      'assert odd.dtype == torch.float32',
    ].join('\n');
    const r = spawnSync(PY, ['-c', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const [bfErr, maskErr] = r.stdout.trim().split('\n').map(Number);
    expect(bfErr).toBeLessThan(5e-2);
    expect(maskErr).toBeLessThan(1e-2);
  });

  it('run_example.py builds the Cell, loads the weights and runs', () => {
    for (const weights of ['safetensors', 'ckpt'] as const) {
      const d = writePackage(emit(path.join(MODELS_DIR, 'unet_tiny.onnx'), { weights }).files);
      const r = spawnSync(PY, ['run_example.py'], { cwd: d, encoding: 'utf8', env: { ...process.env, PYTHONPATH: STANDIN_DIR } });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^out_sample torch\.float32 \(1, 4, 16, 16\)/m);
    }
  });

  it('weight_map.json maps ONNX initializers to parameters and records transforms', () => {
    const pkg = emit(path.join(MODELS_DIR, 'bert.onnx'));
    const map = JSON.parse(packageText(pkg.files, 'weight_map.json'));
    const transposed = Object.values(map.parameters as Record<string, { transform?: string }>).filter((p) => p.transform?.startsWith('transposed'));
    // Every Linear built from a MatMul has its weight transposed: [in, out] in the ONNX file, [out, in] in the Cell.
    const model = loadModelFile(path.join(MODELS_DIR, 'bert.onnx'));
    const init = new Map(model.graph.initializers.map((v) => [v.name, v.const!.dims]));
    // torch's exporter names shared weights through Identity nodes; those names are sources too.
    for (const n of model.graph) if (n.op === 'Identity' && n.inputs[0]?.const && n.outputs[0]) init.set(n.outputs[0].name, n.inputs[0].const.dims);
    expect(transposed.length).toBe(pkg.result.params.filter((p) => p.transform?.startsWith('transposed')).length);
    expect(transposed.length).toBeGreaterThanOrEqual(12);
    for (const [src, targets] of Object.entries(map.onnx_to_parameter as Record<string, { parameter: string; transform?: string }[]>)) {
      expect(init.has(src), `${src} is an initializer of the model`).toBe(true);
      for (const t of targets) {
        const p = map.parameters[t.parameter] as { shape: number[] };
        expect(p, t.parameter).toBeDefined();
        expect(p.shape, t.parameter).toEqual(t.transform?.startsWith('transposed') ? [...init.get(src)!].reverse() : init.get(src));
      }
    }
  });
});

describe('the MindSpore target runs the pass manager', () => {
  it('honours --passes and --print-after, verified after every pass', () => {
    const file = path.join(MODELS_DIR, 'unet_tiny.onnx');
    const printed: string[] = [];
    const none = emit(file, { passes: [] });
    const some = emit(file, { passes: ['fuse-attention', 'dce'], printAfter: ['fuse-attention'], onPrint: (p) => printed.push(p), verifyEach: true });
    const all = emit(file, { verifyEach: true });
    expect([none.result.attention.fused, some.result.attention.fused, all.result.attention.fused]).toEqual([0, 14, 14]);
    expect([none.result.groupNorms, some.result.groupNorms, all.result.groupNorms]).toEqual([0, 0, 24]);
    expect(printed).toEqual(['fuse-attention']);
    const cli = msgraph(['compile', file, '--target', 'mindspore', '-o', fs.mkdtempSync(path.join(os.tmpdir(), 'ms-')), '--passes', 'nonsense']);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toMatch(/unknown pass "nonsense"/);
  });
});

describe('classes by structure', () => {
  it('instances that differ only in constructor numbers share one class that takes them, and every instantiation passes what __init__ declares', () => {
    const code = packageText(emit(path.join(MODELS_DIR, 'unet_tiny.onnx')).files, 'model.py');
    // Every ResnetBlock2D is one class taking its channels; the shortcut conv is built when they differ.
    const resnet = /class Resnet\(nn\.Cell\):\n.*\n    def __init__\(self, ([^)]*)\):/.exec(code);
    expect(resnet?.[1]).toBe('in_channels, out_channels');
    expect(code).toContain('        if in_channels != out_channels:\n            self.conv_shortcut = mint.nn.Conv2d(in_channels, out_channels, 1)');
    expect(new Set([...code.matchAll(/Resnet\(in_channels=(\w+), out_channels=(\w+)\)/g)].map((m) => `${m[1]}->${m[2]}`))).toEqual(new Set(['8->out_channels', '16->16', 'in_channels->out_channels', 'in_channels_2->out_channels']));
    // The down blocks (8 -> 8 with a downsampler, 8 -> 16 without) pass their resnet's out_channels.
    expect(code).toMatch(/DownBlock\(out_channels=8, [^)]*use_downsamplers=True\), DownBlock\(out_channels=16, [^)]*use_downsamplers=False\)/);
    // Self- and cross-attention: one class, the context defaulting to the hidden states.
    expect(code).toContain('def construct(self, hidden_states, encoder_hidden_states=None):\n        if encoder_hidden_states is None:\n            encoder_hidden_states = hidden_states');
    // Every class name is instantiated with the arguments its __init__ declares.
    for (const [, name, params] of code.matchAll(/class (\w+)\(nn\.Cell\):\n.*\n    def __init__\(self(?:, )?([^)]*)\):/g)) {
      const declared = params ? params.split(', ') : [];
      for (const [, args] of code.matchAll(new RegExp(`(?<!class )\\b${name}\\(([^()]*)\\)`, 'g'))) {
        expect((args ? args.split(', ') : []).map((a) => a.split('=')[0]), name).toEqual(declared);
      }
    }
  });
});

describe('attention on every supported version', () => {
  it('attention, convolutions and unsqueeze use only APIs each version has (2.3.0 and 2.4.10 included)', () => {
    for (const msVersion of ['2.3.0', '2.4.10', '2.7.0rc1']) {
      const r = emit(path.join(MODELS_DIR, 'unet_tiny.onnx'), { msVersion, weights: msVersion < '2.4' ? 'ckpt' : 'safetensors' }).result;
      // Before 2.5 (no mint conv): ops.conv2d with pad_mode="pad".
      expect(r.fallbacks, msVersion).toEqual([]);
      expect(r.fusionCounts.multi_head_attention, msVersion).toBe(14);
    }
  });
});

describe('determinism and golden output', () => {
  for (const f of ['upsampler.onnx', 'unet_tiny.onnx']) {
    it(`${f}: the same model gives byte-identical files`, () => {
      const a = emit(path.join(MODELS_DIR, f)).files;
      const b = emit(path.join(MODELS_DIR, f)).files;
      expect(a.map(([n]) => n)).toEqual(b.map(([n]) => n));
      a.forEach(([, ca], i) => expect(Buffer.from(concatChunks([...ca])).equals(Buffer.from(concatChunks([...b[i]![1]])))).toBe(true));
    });
  }
  for (const f of ['upsampler', 'unet_tiny']) {
    it(`${f}: model.py equals the golden file`, () => {
      const code = packageText(emit(path.join(MODELS_DIR, `${f}.onnx`)).files, 'model.py');
      const golden = path.join(import.meta.dirname, '../golden/mindspore', `${f}.model.py`);
      if (process.env.UPDATE_GOLDEN === '1') {
        fs.mkdirSync(path.dirname(golden), { recursive: true });
        fs.writeFileSync(golden, code);
      }
      expect(code).toBe(fs.readFileSync(golden, 'utf8'));
    });
  }
});

/** A model whose every name is hostile to generated Python. */
function hostileModel(): Model {
  const b = new Builder('class"""\nimport os');
  const x = b.input('x"); __import__(\'os\').system(\'echo pwned\') #', [2, 3]);
  const y = b.input('lambda', [2, 3]);
  const w = b.constant('weight\n"""\\', [1, 2, 3, 4, 5, 6], [2, 3]);
  const s = b.constant('None', [0.5], []);
  const add = b.op('Add', [x, w], { name: "'; import sys; sys.exit(1); '" });
  add.outputs[0]!.name = 'déjà-vu\u2028"""';
  const mul = b.op('Mul', [add.outputs[0]!, y], { name: '/__import__/class/def/Mul' });
  mul.outputs[0]!.name = 'return';
  const sc = b.op('Mul', [mul.outputs[0]!, s], { name: '\x00\x1b[31m' });
  sc.outputs[0]!.name = 'print("x")';
  const r = b.op('Relu', [sc.outputs[0]!], { name: 'self' });
  r.outputs[0]!.name = 'out\'put';
  b.output(r.outputs[0]!);
  const m = new Model(b.graph, 8, new Map([['', 17]]));
  m.graph.docString = '"""\nraise SystemExit';
  return m;
}

describe.skipIf(!HAS_TORCH)('hostile names', () => {
  it('names with quotes, newlines, """, __import__, unicode and keywords give code that parses and runs correctly', async () => {
    const dir = tmp();
    const file = path.join(dir, 'evil"name.onnx');
    const bytes = Buffer.concat(encodeModelBytes(hostileModel()).chunks);
    fs.writeFileSync(file, bytes);
    const model = loadModelFile(file);
    const feeds = new Map<string, Tensor>();
    for (const v of model.graph.inputs) feeds.set(v.name, Tensor.fromArray(f32, [2, 3], new Float32Array([1, -2, 3, -4, 5, -6])));
    const ref = await runOnnx(file, feeds);
    const pkg = buildMindSporePackage(loadModelFile(file), { source: path.basename(file) });
    const d = writePackage(pkg.files, path.join(dir, 'pkg'));
    const code = fs.readFileSync(path.join(d, 'model.py'), 'utf8');
    expect(code).not.toMatch(/__import__\('os'\)\.system/);
    expect(code).not.toContain('pwned"');
    const run = runStandin(d, feeds);
    for (const [name, want] of ref) expect(relError(want, run.outputs.get(name)!)).toBe(0);
    expect(scan('2.6.0', [path.join(d, 'model.py')])[path.join(d, 'model.py')]).toEqual([]);
  });
});

/** torch's `token.expand(x.shape[0], -1, -1)` as the exporter writes it (the -1s become 1s through Equal/Where). */
function expandIdiomModel(): Model {
  const b = new Builder('expand_idiom');
  const x = b.input('x', ['batch', 4, 8]);
  const token = b.constant('token', [1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 8]);
  const i64c = (name: string, vals: number[], dims = [vals.length]) => b.graph.addConstant(name, Tensor.fromArray(i64, dims, new BigInt64Array(vals.map(BigInt)), name));
  const n = b.op('Unsqueeze', [b.op('Gather', [b.op('Shape', [x]).outputs[0]!, i64c('zero', [0], [])], { attrs: { axis: { type: 'int', value: 0 } } }).outputs[0]!, i64c('axes', [0])]).outputs[0]!;
  const cat = b.op('Concat', [n, i64c('m1', [-1]), i64c('m2', [-1])], { attrs: { axis: { type: 'int', value: 0 } } }).outputs[0]!;
  const s = b.op('Reshape', [cat, i64c('flat', [-1])]).outputs[0]!;
  const ones = b.op('ConstantOfShape', [b.op('Shape', [s]).outputs[0]!], { attrs: { value: { type: 'tensor', value: Tensor.fromArray(i64, [1], new BigInt64Array([1n])) } } }).outputs[0]!;
  const minus = b.op('Mul', [ones, i64c('neg', [-1], [])]).outputs[0]!;
  const where = b.op('Where', [b.op('Equal', [s, minus]).outputs[0]!, ones, s]).outputs[0]!;
  const e = b.op('Expand', [token, where]).outputs[0]!;
  b.output(b.op('Concat', [e, x], { attrs: { axis: { type: 'int', value: 1 } } }).outputs[0]!);
  return new Model(b.graph, 8, new Map([['', 17]]));
}

describe.skipIf(!HAS_TORCH)('GRAPH_MODE-clean shapes', () => {
  it("torch's expand(-1) is broadcast_to(x, (batch, -1, -1)): no Tensor built from a shape, same numbers at any batch", async () => {
    const dir = tmp();
    const file = path.join(dir, 'expand_idiom.onnx');
    fs.writeFileSync(file, Buffer.concat(encodeModelBytes(expandIdiomModel()).chunks));
    const feeds = new Map([['x', Tensor.fromArray(f32, [3, 4, 8], Float32Array.from({ length: 96 }, (_, i) => i / 10))]]);
    const ref = await runOnnx(file, feeds);
    const pkg = buildMindSporePackage(loadModelFile(file), { source: 'expand_idiom.onnx' });
    const d = writePackage(pkg.files, path.join(dir, 'pkg'));
    const code = fs.readFileSync(path.join(d, 'model.py'), 'utf8');
    expect(code).toMatch(/mint\.broadcast_to\(self\.token, \(x\.shape\[0\], -1, -1\)\)/);
    expect(code).not.toMatch(/ms\.Tensor\(|mint\.eq|mint\.where/);
    const run = runStandin(d, feeds);
    for (const [name, want] of ref) expect(relError(want, run.outputs.get(name)!)).toBe(0);
    expect(scan('2.4.10', [path.join(d, 'model.py')])[path.join(d, 'model.py')]).toEqual([]);
  });

  it('the stand-in refuses a size tuple holding a Tensor (host code reading a Tensor) and takes an int Tensor size', () => {
    const probe = (code: string) => spawnSync(PY, ['-c', `import sys; sys.path.insert(0, ${JSON.stringify(STANDIN_DIR)}); import torch; from mindspore import mint\n${code}`], { encoding: 'utf8' });
    const bad = probe('x = mint.zeros((2, 3))\nmint.broadcast_to(x, (torch.tensor(2), 3))');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/size tuple holding a Tensor; GRAPH_MODE needs Python ints|size tuple holding a Tensor/);
    expect(probe('x = mint.zeros((2, 3))\nx.reshape((torch.tensor(3), 2))').stderr).toMatch(/Tensor\.reshape got a size tuple holding a Tensor/);
    const ok = probe('print(tuple(mint.ones(torch.tensor([2, 3])).shape))');
    expect(ok.stderr).toBe('');
    expect(ok.stdout.trim()).toBe('(2, 3)');
  });
});

describe('compile --target mindspore (CLI)', () => {
  it('writes the package and exits 0', () => {
    const out = path.join(tmp(), 'pkg');
    const r = msgraph(['compile', path.join(MODELS_DIR, 'upsampler.onnx'), '--target', 'mindspore', '-o', out]);
    expect(r.stderr).toMatch(/wrote/);
    expect(r.code).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(['model.py', 'model.safetensors', 'report.json', 'report.md', 'run_example.py', 'weight_map.json']);
  });

  const stft = corpusModels().find((f) => f.endsWith('onnx2tf__STFT_17.onnx'));
  it.skipIf(!stft)('an op with no mapping gives a marked fallback, the report lists it, exit 3; --strict exits 2 and writes nothing', () => {
    const out = path.join(tmp(), 'pkg');
    const r = msgraph(['compile', stft!, '--target', 'mindspore', '-o', out]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/partial: 1 op\(s\) have no mapping \(STFT\)/);
    expect(fs.readFileSync(path.join(out, 'model.py'), 'utf8')).toMatch(/unsupported\("STFT", "\/STFT"\)/);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    expect(report.partial).toBe(true);
    expect(report.fallbacks[0].op).toBe('STFT');
    const strictOut = path.join(tmp(), 'strict');
    const s = msgraph(['compile', stft!, '--target', 'mindspore', '-o', strictOut, '--strict']);
    expect(s.code).toBe(2);
    expect(s.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(strictOut)).toBe(false);
  });

  it('bad options are one-line errors', () => {
    const out = path.join(tmp(), 'pkg');
    const r = msgraph(['compile', path.join(MODELS_DIR, 'upsampler.onnx'), '--target', 'mindspore', '-o', out, '--ms-version', '9.9']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown MindSpore version 9\.9/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('bad --dim is a one-line error', () => {
    const file = path.join(MODELS_DIR, 'unet_tiny.onnx');
    // unet_tiny's export names its dims (dynamic axes): nothing to free.
    expect(signature(file, [])).toMatch(/^sample\[batch, 4, height, width\]/);
    for (const [args, msg] of [
      [['--dim', 'nope=1,2'], /--dim names no input: nope/],
      [['--dim', 'sample=1,4,height'], /--dim sample gives 3 dims; the input has 4/],
      [['--dim', 'sample=1;4'], /expected input=dim,dim/],
    ] as const) {
      const out = path.join(tmp(), 'pkg');
      const r = msgraph(['compile', file, '--target', 'mindspore', '-o', out, ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(fs.existsSync(out)).toBe(false);
    }
  });

  const fixed = zooModels().find((f) => f.endsWith('unet_static.onnx'));
  it.skipIf(!fixed)('on a fixed-size export (zoo unet_static): free by default, --dim names them, --static keeps the export\'s', () => {
    expect(signature(fixed!, ['--dim', 'sample=1,4,h,w', '--dim', 'encoder_hidden_states=1,tokens,32'])).toMatch(/^sample\[1, 4, h, w\], timestep\[batch\], encoder_hidden_states\[1, tokens, 32\]/);
    expect(signature(fixed!, ['--static'])).toMatch(/^sample\[1, 4, 16, 16\]/);
    expect(signature(fixed!, [])).toMatch(/^sample\[batch, 4, height, width\]/);
  });
});
