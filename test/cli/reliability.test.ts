/**
 * What hostile and large inputs did to msgraph, each reproduced through the CLI: crashes where a one-line error is
 * due, memory and time bombs (checked by the child's own peak RSS, never by wall time), broken functions, emitted
 * files taking names raw, interrupts and concurrent runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLI, msgraph, msgraphMemory, ROOT } from '../helpers/cli.js';
import { encodeProto, floatTensor, int64Tensor, intAttr, largeMatMulModel, node, protoModel, tensorAttr, vi } from '../helpers/proto-models.js';
import { emptyTensorP } from '../../src/frontend/onnx/proto.js';
import { CORPUS_DIR, MODELS_DIR, runOnnx } from '../helpers/ort.js';
import { HAS_TORCH, PY, STANDIN_DIR } from '../helpers/standin.js';
import { formatBundle, parseBundle } from '../../src/ir/bundle.js';
import { Tensor } from '../../src/ir/tensor.js';
import { dtypeFromName } from '../../src/ir/dtype.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-rel-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: Uint8Array | string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, bytes);
  return f;
}

/** Exit 2, one line on stderr naming the file and matching `re`, no stack. */
function oneLineError(r: { code: number; stderr: string }, f: string, re: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^msgraph: error: /);
  expect(lines[0]).toContain(path.basename(f));
  expect(lines[0]).toMatch(re);
  expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
}

const corpus = (name: string) => path.join(CORPUS_DIR, name);
const hasCorpus = (name: string) => fs.existsSync(corpus(name));

describe('crashes that are one-line errors now', () => {
  const arity: [string, ReturnType<typeof node>[], RegExp][] = [
    ['an Add with one input', [node('Add', ['x'], ['y'], 'add_one')], /Add \(opset 17\): takes 2 inputs, got 1 \(node "add_one"\)/],
    ['a LayerNormalization without scale', [node('LayerNormalization', ['x'], ['y'], 'ln')], /takes 2 to 3 inputs, got 1 \(node "ln"\)/],
    ['a LayerNormalization whose scale is empty', [node('LayerNormalization', ['x', ''], ['y'], 'ln')], /input 1 is required but empty \(node "ln"\)/],
    ['a Concat with zero inputs', [node('Concat', [], ['y'], 'cat', [intAttr('axis', 0)])], /Concat \(opset 17\): takes at least 1 inputs, got 0 \(node "cat"\)/],
  ];
  for (const [what, nodes, re] of arity) {
    for (const target of ['onnx', 'mindspore']) {
      it(`${what}: compile --target ${target}`, () => {
        const f = file(`${what.replace(/\W+/g, '_')}.onnx`, encodeProto(protoModel(nodes)));
        const out = path.join(dir, `out-${target}-${path.basename(f)}`);
        oneLineError(msgraph(['compile', f, '--target', target, '-o', out]), f, re);
        expect(fs.existsSync(out)).toBe(false);
      });
    }
  }

  it('an initializer with huge dims and no data: every command, before allocating', () => {
    const t = { ...emptyTensorP(), name: 'w', dataType: 1, dims: [2147483647] };
    const f = file('huge-init.onnx', encodeProto(protoModel([node('Add', ['x', 'w'], ['y'], 'add')], { initializer: [t] })));
    for (const args of [['inspect', f], ['compile', f, '-o', path.join(dir, 'h.onnx')], ['compile', f, '--target', 'mindspore', '-o', path.join(dir, 'h')], ['run', f]]) {
      const r = msgraphMemory(args);
      oneLineError(r, f, /tensor "w" \(float32\) has 0 values in float_data, expected 2147483647/);
      expect(r.maxRssMiB).toBeLessThan(300);
    }
  });

  it('--shape past what can be allocated: run, verify and bench refuse before allocating', () => {
    const up = path.join(MODELS_DIR, 'upsampler.onnx');
    for (const cmd of ['run', 'verify', 'bench']) {
      const r = msgraphMemory([cmd, up, '--shape', 'input=99999999999x3x64x64']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/takes the random inputs past \d+ bytes/);
      expect(r.maxRssMiB).toBeLessThan(400);
    }
    const bert = path.join(MODELS_DIR, 'bert.onnx');
    const r = msgraphMemory(['run', bert, '--shape', 'input_ids=1x2147483648', '--shape', 'attention_mask=1x2147483648']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/input input_ids: int64\[1x2147483648\]/);
    expect(r.maxRssMiB).toBeLessThan(400);
  });
});

describe('memory and time bombs', () => {
  const x = vi('x', [2, 3]);
  const y = { ...vi('y'), type: { kind: 'tensor' as const, elemType: 1, shape: null } };
  const one = floatTensor('v', [1], [1]);
  const sum = (src: string) => [node('ReduceSum', [src], ['r'], 'sum', [intAttr('keepdims', 0)]), node('Add', ['x', 'r'], ['y'], 'add')];
  const bombs: [string, () => Uint8Array][] = [
    ['ConstantOfShape [16384, 16384]', () => encodeProto(protoModel([node('ConstantOfShape', ['s'], ['c'], 'cos', [tensorAttr('value', one)]), ...sum('c')], { input: [x], output: [y], initializer: [int64Tensor('s', [16384, 16384])] }))],
    ['ConstantOfShape [32768, 32768]', () => encodeProto(protoModel([node('ConstantOfShape', ['s'], ['c'], 'cos', [tensorAttr('value', one)]), ...sum('c')], { input: [x], output: [y], initializer: [int64Tensor('s', [32768, 32768])] }))],
    ['Range to 2^31', () => encodeProto(protoModel([node('Range', ['a', 'b', 'd'], ['c'], 'range'), node('Cast', ['c'], ['cf'], 'cast', [intAttr('to', 1)]), ...sum('cf')], {
      input: [x], output: [y], initializer: [int64Tensor('a', [0], []), int64Tensor('b', [2 ** 31], []), int64Tensor('d', [1], [])],
    }))],
    ['Tile to 2^31', () => encodeProto(protoModel([node('Tile', ['a', 'reps'], ['c'], 'tile'), ...sum('c')], { input: [x], output: [y], initializer: [floatTensor('a', [1]), int64Tensor('reps', [2 ** 31])] }))],
    ['a 1024x1024 MatMul of constants', () => {
      const big = (name: string) => ({ ...emptyTensorP(), name, dataType: 1, dims: [1024, 1024], rawData: new Uint8Array(1024 * 1024 * 4).fill(0x3c) });
      return encodeProto(protoModel([node('MatMul', ['A', 'B'], ['c'], 'mm'), node('Add', ['x', 'c'], ['y'], 'add')], { input: [vi('x', [1024, 1024])], output: [y], initializer: [big('A'), big('B')] }));
    }],
  ];
  for (const [what, make] of bombs) {
    for (const target of ['onnx', 'mindspore']) {
      it(`${what}: compile --target ${target} stays small`, () => {
        const f = file(`bomb-${what.replace(/\W+/g, '_')}.onnx`, make());
        const r = msgraphMemory(['compile', f, '--target', target, '-o', path.join(dir, `bomb-out-${target}-${path.basename(f)}`)]);
        expect(r.code, r.stderr).toBe(0);
        // The file is at most 8 MiB; what folding would have materialised is 1 to 16 GiB.
        expect(r.maxRssMiB).toBeLessThan(400);
      });
    }
  }

  it.skipIf(!hasCorpus('experimental-experiment__dort-llama-llama-ort_1.onnx'))('the corpus\'s dort-llama (113 KB) compiles without materialising its large constants', () => {
    const r = msgraphMemory(['compile', corpus('experimental-experiment__dort-llama-llama-ort_1.onnx'), '-o', path.join(dir, 'dort.onnx')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.maxRssMiB).toBeLessThan(400);
  });
});

describe('functions that were broken', () => {
  it('run, verify and bench take a model whose weights are external data (cpu and wasm)', () => {
    const d = path.join(dir, 'ext');
    fs.mkdirSync(d);
    const c = msgraph(['compile', path.join(MODELS_DIR, 'bert.onnx'), '-o', path.join(d, 'b.onnx'), '--external-data', '--passes', 'none']);
    expect(c.code, c.stderr).toBe(0);
    // Without its plan the file counts as an original: run/verify/bench compile it again.
    fs.rmSync(path.join(d, 'b.onnx.plan.json'));
    expect(fs.statSync(path.join(d, 'b.onnx')).size).toBeLessThan(64 * 1024);
    const inputs = path.join(MODELS_DIR, 'bert.io.json');
    const run = msgraph(['run', path.join(d, 'b.onnx'), '--inputs', inputs, '-o', path.join(d, 'out.json')]);
    expect(run.code, run.stderr).toBe(0);
    const got = parseBundle(fs.readFileSync(path.join(d, 'out.json'), 'utf8')).outputs;
    const want = parseBundle(fs.readFileSync(inputs, 'utf8')).outputs;
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const ep of ['cpu', 'wasm']) {
      const v = msgraph(['verify', path.join(d, 'b.onnx'), '--inputs', inputs, '--ep', ep]);
      expect(v.code, v.stderr).toBe(0);
      expect(v.stdout).toMatch(/PASS\n$/);
    }
    const b = msgraph(['bench', path.join(d, 'b.onnx'), '--shape', 'input_ids=1x8', '--shape', 'attention_mask=1x8', '--runs', '2', '--warmup', '0', '--json']);
    expect(b.code, b.stderr).toBe(0);
    expect(JSON.parse(b.stdout).compiled.runs).toBe(2);
  });

  const sr = 'onnx-tutorials__super_resolution.onnx';
  it.skipIf(!hasCorpus(sr))('IR 1 super_resolution: compiles with the default passes, and legacy broadcast=1/axis is kept', () => {
    const out = path.join(dir, 'sr.onnx');
    const r = msgraph(['compile', corpus(sr), '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    // Opset 1 output: Add keeps broadcast=1 with B lined up at axis 1, as the original has it.
    const inspect = JSON.parse(msgraph(['inspect', out, '--json']).stdout);
    expect(inspect.opHistogram.Add).toBe(4);
  });

  it.skipIf(!hasCorpus(sr) || !HAS_TORCH)('IR 1 super_resolution: the MindSpore package runs and matches opset-1 semantics computed in torch', () => {
    const pkgDir = path.join(dir, 'sr-ms');
    const r = msgraph(['compile', corpus(sr), '--target', 'mindspore', '-o', pkgDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(pkgDir, 'report.md'), 'utf8')).toMatch(/complete — every op is mapped/);
    // onnxruntime refuses IR 1, so the reference is the graph run op by op in torch with opset 1's own rules.
    const ref = `
import sys, json, numpy as np, onnx, torch, torch.nn.functional as F
sys.path.insert(0, ${JSON.stringify(STANDIN_DIR)})
from onnx import numpy_helper
import mindspore as ms, importlib.util
m = onnx.load(sys.argv[1]); env = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in m.graph.initializer}
x = torch.from_numpy(np.random.RandomState(0).rand(1, 1, 224, 224).astype(np.float32)); env[m.graph.input[0].name] = x
for n in m.graph.node:
    # IR 1 attributes carry no type field: read whichever value is set.
    a = {k.name: (list(k.ints) if len(k.ints) else k.i) for k in n.attribute}
    i = [env[v] for v in n.input]
    if n.op_type == 'Conv': o = F.conv2d(i[0], i[1], padding=tuple(a['pads'][:2]))
    elif n.op_type == 'Add':
        b = i[1]
        if a.get('broadcast') and 'axis' in a: b = b.reshape(list(b.shape) + [1] * (i[0].dim() - a['axis'] - b.dim()))
        o = i[0] + b
    elif n.op_type == 'Relu': o = F.relu(i[0])
    elif n.op_type == 'Reshape': o = i[0].reshape(a['shape'])
    elif n.op_type == 'Transpose': o = i[0].permute(a['perm'])
    env[n.output[0]] = o
want = env[m.graph.output[0].name]
spec = importlib.util.spec_from_file_location('pkg', sys.argv[2] + '/model.py'); mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
report = json.load(open(sys.argv[2] + '/report.json'))
net = getattr(mod, report['top_class'])(); net.set_train(False)
ms.load_param_into_net(net, ms.load_checkpoint(sys.argv[2] + '/model.safetensors', format='safetensors'))
with torch.no_grad(): got = net(x)
print(float((got - want).abs().max() / want.abs().max()))
`;
    const p = spawnSync(PY, ['-c', ref, corpus(sr), pkgDir], { encoding: 'utf8' });
    expect(p.status, p.stderr).toBe(0);
    expect(Number(p.stdout.trim())).toBeLessThan(1e-5);
  });

  const loopa = 'onnx-diagnostic__attention_loopa24.onnx';
  it.skipIf(!hasCorpus(loopa))('a Loop body output of unknown element type is written so that onnxruntime loads it', async () => {
    for (const passes of ['none', 'default']) {
      const out = path.join(dir, `loopa-${passes}.onnx`);
      const r = msgraph(['compile', corpus(loopa), '-o', out, '--passes', passes]);
      expect(r.code, r.stderr).toBe(0);
      await runOnnx(out, new Map(), { loadOnly: true });
    }
  });

  it.skipIf(!HAS_TORCH)('verify --target mindspore takes inputs larger than a JavaScript string can hold as JSON', () => {
    // 440 MB of float32: as base64 in one JSON string that is past V8's string limit.
    const n = 110_000_000;
    const f = file('big-input.onnx', encodeProto(protoModel([node('ReduceMax', ['x'], ['y'], 'max', [intAttr('keepdims', 0)])], {
      input: [vi('x', [n])], output: [{ ...vi('y'), type: { kind: 'tensor' as const, elemType: 1, shape: [] } }],
    })));
    const r = msgraph(['verify', f, '--target', 'mindspore'], { timeout: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/PASS\n$/);
  });

  it.skipIf(!HAS_TORCH)('a model without parameters: run_example.py runs under the stand-in, which refuses an empty checkpoint as MindSpore does', () => {
    const pkgDir = path.join(dir, 'noparams');
    const f = file('noparams.onnx', encodeProto(protoModel([node('Relu', ['x'], ['y'], 'relu')])));
    expect(msgraph(['compile', f, '--target', 'mindspore', '-o', pkgDir]).code).toBe(0);
    const env = { ...process.env, PYTHONPATH: STANDIN_DIR };
    const ex = spawnSync(PY, ['run_example.py'], { cwd: pkgDir, encoding: 'utf8', env });
    expect(ex.status, ex.stderr).toBe(0);
    expect(ex.stdout).toMatch(/^y /m);
    const refuse = spawnSync(PY, ['-c', `import mindspore as ms; ms.load_checkpoint(${JSON.stringify(path.join(pkgDir, 'model.safetensors'))}, format="safetensors")`], { encoding: 'utf8', env });
    expect(refuse.status).not.toBe(0);
    expect(refuse.stderr).toMatch(/parameter dict is empty/);
  });
});

describe('names are data in every output', () => {
  const hostile = 'a`b<img src=x onerror=alert(1)>\u001b]0;pwned\u0007\u001b[2J|c';
  const model = () => encodeProto(protoModel([node('Relu', ['x'], ['r'], hostile), node('TopK', ['r', 'k'], ['y', 'i'], `${hostile}2`)], {
    initializer: [int64Tensor('k', [1])], output: [vi('y', [1]), vi('i', [1], 7)],
  }));

  it('report.md: a name cannot leave its code span or inject HTML; a file name cannot break the heading', () => {
    const f = file('evil\n<script>alert(1)<.script>.onnx', model());
    const pkgDir = path.join(dir, 'evil-pkg');
    const r = msgraph(['compile', f, '--target', 'mindspore', '-o', pkgDir]);
    expect([0, 3]).toContain(r.code);
    const md = fs.readFileSync(path.join(pkgDir, 'report.md'), 'utf8');
    expect(md).not.toMatch(/<img|<script/);
    expect(md.split('\n')[0]).toBe('# MindSpore package for evil?&lt;script&gt;alert(1)&lt;.script&gt;.onnx');
    // Every code span opens and closes on its own line.
    for (const line of md.split('\n')) expect((line.match(/`/g) ?? []).length % 2, line).toBe(0);
    expect(md).not.toMatch(/\u001b/);
  });

  it('inspect, --print-ir, run and errors print no raw terminal escapes', () => {
    const f = file('escapes.onnx', model());
    const outs = [
      msgraph(['inspect', f]),
      msgraph(['inspect', f, '--shapes']),
      msgraph(['compile', f, '-o', path.join(dir, 'esc.onnx'), '--print-ir']),
      msgraph(['run', f, '--shape', 'x=2']),
      msgraph(['compile', file('escapes-bad.onnx', encodeProto(protoModel([node('Add', ['x'], ['y'], hostile)]))), '-o', path.join(dir, 'e2.onnx')]),
    ];
    for (const r of outs) {
      expect(r.stdout + r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    }
    // The name is still there, spelled visibly.
    expect(outs[2]!.stdout).toMatch(/\\(x1b|u001b)\]0;pwned/);
    expect(outs[4]!.stderr).toMatch(/\\(x1b|u001b)\]0;pwned/);
  });
});

describe('interrupts, atomic outputs, determinism', () => {
  const unet = () => (fs.existsSync(path.join(ROOT, 'models/.cache/zoo/unet.onnx')) ? path.join(ROOT, 'models/.cache/zoo/unet.onnx') : path.join(MODELS_DIR, 'unet_tiny.onnx'));

  it('Ctrl-C stops a compile at once, both targets, and leaves nothing', async () => {
    for (const target of ['onnx', 'mindspore']) {
      const d = fs.mkdtempSync(path.join(dir, 'int-'));
      const out = path.join(d, target === 'onnx' ? 'm.onnx' : 'pkg');
      const child = spawn(process.execPath, [CLI, 'compile', unet(), '--target', target, '-o', out], { stdio: 'ignore' });
      const exited = new Promise<[number | null, string | null]>((r) => child.on('exit', (c, s) => r([c, s])));
      await new Promise((r) => setTimeout(r, 100));
      child.kill('SIGINT');
      const [code, signal] = await exited;
      // Either the signal ended it (computing) or the write handler did (130); never a finished run.
      expect(signal === 'SIGINT' || code === 130, `exit ${code} ${signal}`).toBe(true);
      expect(fs.readdirSync(d)).toEqual([]);
    }
  });

  it('a run killed while it writes weights ahead (Ctrl-C, SIGKILL) leaves nothing either', async () => {
    const src = path.join(dir, 'large-matmul.onnx');
    if (!fs.existsSync(src)) fs.writeFileSync(src, encodeProto(largeMatMulModel()));
    for (const signal of ['SIGINT', 'SIGKILL'] as const) {
      const d = fs.mkdtempSync(path.join(dir, 'ahead-'));
      const child = spawn(process.execPath, [CLI, 'compile', src, '-o', path.join(d, 'm.onnx')], { stdio: 'ignore' });
      const exited = new Promise<void>((r) => child.on('exit', () => r()));
      // Killed once the output's temporary exists (or the run is over: then it is checked as finished below).
      let finished = false;
      void exited.then(() => (finished = true));
      while (!finished && !fs.readdirSync(d).some((f) => f.endsWith('.tmp'))) await new Promise((r) => setTimeout(r, 2));
      child.kill(signal);
      await exited;
      // The temporary is removed by a process that outlives the run, a moment after it ends.
      for (let i = 0; i < 200 && fs.readdirSync(d).some((f) => f.endsWith('.tmp')); i++) await new Promise((r) => setTimeout(r, 10));
      const left = fs.readdirSync(d);
      expect(left.length === 0 || left.sort().join() === 'm.onnx,m.onnx.plan.json', `${signal}: ${left.join(', ')}`).toBe(true);
    }
  });

  it('temporaries a killed run left are removed by the next run; a live run\'s are not', () => {
    const d = fs.mkdtempSync(path.join(dir, 'stale-'));
    const out = path.join(d, 'm.onnx');
    const dead = `${out}.msgraph-999999999-deadbeef.tmp`;
    const live = `${out}.msgraph-${process.pid}-a11ve.tmp`;
    const deadDir = path.join(d, 'pkg.msgraph-999999999-deadbeef.tmp');
    fs.writeFileSync(dead, 'partial');
    fs.writeFileSync(live, 'in progress');
    fs.mkdirSync(deadDir);
    fs.writeFileSync(path.join(deadDir, 'model.py'), 'partial');
    expect(msgraph(['compile', path.join(MODELS_DIR, 'upsampler.onnx'), '-o', out]).code).toBe(0);
    expect(msgraph(['compile', path.join(MODELS_DIR, 'upsampler.onnx'), '--target', 'mindspore', '-o', path.join(d, 'pkg')]).code).toBe(0);
    expect(fs.readdirSync(d).sort()).toEqual([path.basename(live), 'm.onnx', 'm.onnx.plan.json', 'pkg'].sort());
  });

  it('a package directory is replaced whole; a directory with other files is refused', () => {
    const d = fs.mkdtempSync(path.join(dir, 'pkgdir-'));
    const pkg = path.join(d, 'pkg');
    expect(msgraph(['compile', path.join(MODELS_DIR, 'bert.onnx'), '--target', 'mindspore', '-o', pkg, '--weights', 'ckpt']).code).toBe(0);
    expect(msgraph(['compile', path.join(MODELS_DIR, 'upsampler.onnx'), '--target', 'mindspore', '-o', pkg]).code).toBe(0);
    // No file of the first package is left over (its .ckpt) next to the second.
    expect(fs.readdirSync(pkg).sort()).toEqual(['model.py', 'model.safetensors', 'report.json', 'report.md', 'run_example.py', 'weight_map.json']);
    const mine = path.join(d, 'mine');
    fs.mkdirSync(mine);
    fs.writeFileSync(path.join(mine, 'notes.txt'), 'keep me');
    const r = msgraph(['compile', path.join(MODELS_DIR, 'upsampler.onnx'), '--target', 'mindspore', '-o', mine]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not part of a package; refusing to replace it/);
    expect(fs.readdirSync(mine)).toEqual(['notes.txt']);
  });

  it('four compiles into one package directory at once leave one whole package', async () => {
    const models = ['bert', 'unet_tiny', 'upsampler', 'bert'].map((m) => path.join(MODELS_DIR, `${m}.onnx`));
    for (let trial = 0; trial < 3; trial++) {
      const pkg = path.join(fs.mkdtempSync(path.join(dir, 'race-')), 'pkg');
      const runs = models.map((m, i) => new Promise<number | null>((r) => {
        const c = spawn(process.execPath, [CLI, 'compile', m, '--target', 'mindspore', '-o', pkg, ...(i === 3 ? ['--weights', 'ckpt'] : [])], { stdio: 'ignore' });
        c.on('exit', (code) => r(code));
      }));
      expect(await Promise.all(runs)).toEqual([0, 0, 0, 0]);
      const report = JSON.parse(fs.readFileSync(path.join(pkg, 'report.json'), 'utf8'));
      const py = fs.readFileSync(path.join(pkg, 'model.py'), 'utf8');
      const map = JSON.parse(fs.readFileSync(path.join(pkg, 'weight_map.json'), 'utf8'));
      // Every file is from the same compile.
      expect(py).toContain(`MindSpore port of ${report.source}`);
      expect(map.file).toBe(report.weights);
      expect(fs.readdirSync(pkg).sort()).toEqual(['model.py', report.weights, 'report.json', 'report.md', 'run_example.py', 'weight_map.json'].sort());
      expect(fs.readdirSync(path.dirname(pkg))).toEqual(['pkg']);
    }
  });

  it('plan.json is byte-identical across runs; --timings adds pass times', () => {
    const a = path.join(dir, 'det-a.onnx');
    const b = path.join(dir, 'det-b.onnx');
    for (const out of [a, b]) expect(msgraph(['compile', path.join(MODELS_DIR, 'unet_tiny.onnx'), '-o', out]).code).toBe(0);
    expect(fs.readFileSync(`${a}.plan.json`)).toEqual(fs.readFileSync(`${b}.plan.json`));
    expect(fs.readFileSync(`${a}.plan.json`, 'utf8')).not.toMatch(/"ms":/);
    expect(msgraph(['compile', path.join(MODELS_DIR, 'unet_tiny.onnx'), '-o', a, '--timings']).code).toBe(0);
    expect(JSON.parse(fs.readFileSync(`${a}.plan.json`, 'utf8')).passes.every((p: { ms?: number }) => typeof p.ms === 'number')).toBe(true);
  });
});

describe('smaller', () => {
  it('onnxruntime\'s own log line does not join msgraph\'s error (bad token ids)', () => {
    const bundle = parseBundle(fs.readFileSync(path.join(MODELS_DIR, 'bert.io.json'), 'utf8'));
    const ids = bundle.inputs.get('input_ids')!;
    const bad = new BigInt64Array(ids.size).fill(1_000_000n);
    const inputs = new Map(bundle.inputs);
    inputs.set('input_ids', Tensor.fromBytes(dtypeFromName('int64')!, ids.dims, new Uint8Array(bad.buffer), 'input_ids'));
    const f = file('bad-ids.io.json', formatBundle({ inputs }));
    const r = msgraph(['run', path.join(MODELS_DIR, 'bert.onnx'), '--inputs', f]);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(/^msgraph: error: .*onnxruntime \(cpu\) failed to run the model/);
  });

  it('a bad base64 character in a bundle names the file', () => {
    const text = fs.readFileSync(path.join(MODELS_DIR, 'bert.io.json'), 'utf8').replace(/"data": ?"([A-Za-z0-9+/]{4})/, '"data": "@$1');
    const f = file('bad-b64.io.json', text);
    const r = msgraph(['run', path.join(MODELS_DIR, 'bert.onnx'), '--inputs', f]);
    oneLineError(r, f, /base64/);
  });
});
