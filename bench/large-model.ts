/**
 * A model past 2 GiB (weights in an external data file, as torch.onnx writes one that large): peak RSS of
 * `compile --target onnx` and `--target mindspore` against the file size, and `run` / `verify` on it. Each command
 * runs in a fresh child process that reports its own peak RSS. Wall times are printed for information only.
 *
 *   node dist/bench/large-model.js [--gib 2.5] [--dir models/.cache/large-synthetic]
 * The model (an fp32 MLP of 4096-wide Linear layers as torch.onnx exports them: MatMul on the transposed weight, Add,
 * Relu) is generated on first use.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Graph } from '../src/ir/graph.js';
import { Model } from '../src/ir/model.js';
import { Node } from '../src/ir/node.js';
import { Value } from '../src/ir/value.js';
import { Tensor } from '../src/ir/tensor.js';
import { dtypeFromName } from '../src/ir/dtype.js';
import { tensorType } from '../src/ir/shape.js';
import { saveModelFile } from '../src/frontend/onnx/node-fs.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const CLI = path.join(root, 'dist/cli/msgraph.js');
const MEASURE = path.join(root, 'scripts/measure-cli.mjs');
const WIDTH = 4096;

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : dflt;
}

/** x[batch, 4096] -> (Gemm + Gelu) x layers; weights deterministic, not random (generation is not what is measured). */
function generate(file: string, gib: number): void {
  const f32 = dtypeFromName('float32')!;
  const layers = Math.ceil((gib * 2 ** 30) / (WIDTH * WIDTH * 4));
  const g = new Graph('mlp');
  let h = g.addInput(new Value('x', tensorType(f32, ['batch', 'seq', WIDTH])));
  for (let i = 0; i < layers; i++) {
    // torch.onnx's nn.Linear on 3-D input: MatMul with the weight stored transposed ([in, out]), then Add.
    const w = new Float32Array(WIDTH * WIDTH);
    for (let k = 0; k < w.length; k += 97) w[k] = ((k + i) % 13) / 4096;
    const b = new Float32Array(WIDTH).fill(0.001 * i);
    const wv = g.addConstant(`onnx::MatMul_${i}`, Tensor.fromArray(f32, [WIDTH, WIDTH], w, `onnx::MatMul_${i}`));
    const bv = g.addConstant(`layers.${i}.bias`, Tensor.fromArray(f32, [WIDTH], b, `layers.${i}.bias`));
    const mm = g.append(new Node({ op: 'MatMul', name: `/layers.${i}/MatMul`, inputs: [h, wv] }));
    mm.outputs[0]!.name = `/layers.${i}/MatMul_output_0`;
    const add = g.append(new Node({ op: 'Add', name: `/layers.${i}/Add`, inputs: [bv, mm.outputs[0]!] }));
    add.outputs[0]!.name = `/layers.${i}/Add_output_0`;
    const act = g.append(new Node({ op: 'Relu', name: `/act.${i}/Relu`, inputs: [add.outputs[0]!] }));
    act.outputs[0]!.name = i === layers - 1 ? 'y' : `/act.${i}/Relu_output_0`;
    h = act.outputs[0]!;
  }
  g.outputs.push(h);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  saveModelFile(new Model(g, 8, new Map([['', 17]])), file, { externalData: true });
}

function measure(args: string[]): { code: number; rssGiB: number; s: number; err: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [MEASURE, ...args], { encoding: 'utf8', env: { ...process.env, MSGRAPH_CLI: CLI }, maxBuffer: 64 << 20 });
  const m = /@@maxrss (\d+)/.exec(r.stderr);
  return { code: r.status ?? -1, rssGiB: m ? Number(m[1]) / 2 ** 20 : NaN, s: (performance.now() - t0) / 1000, err: r.stderr.replace(/\n@@maxrss \d+\n$/, '').trim().split('\n').pop() ?? '' };
}

function main(): void {
  if (process.argv[2] === '--generate') return generate(process.argv[3]!, Number(process.argv[4]));
  const gib = Number(arg('--gib', '2.5'));
  const dir = path.resolve(arg('--dir', path.join(root, 'models/.cache/large-synthetic')));
  const file = path.join(dir, `mlp-${gib}g.onnx`);
  if (!fs.existsSync(file)) {
    console.log(`generating a ${gib} GiB model at ${file} ...`);
    // In a child of its own: a child forked from this process would inherit its peak RSS (the 2.5 GiB just
    // generated) as the start of its own.
    const g = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--generate', file, String(gib)], { stdio: 'inherit' });
    if (g.status !== 0) throw new Error('generating the model failed');
  }
  const size = (fs.statSync(file).size + fs.statSync(`${file}.data`).size) / 2 ** 30;
  const out = path.join(dir, 'out');
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  console.log(`model: ${path.basename(file)} + .data, ${size.toFixed(2)} GiB`);
  const rows: [string, string[]][] = [
    ['compile --target onnx', ['compile', file, '-o', path.join(out, 'm.onnx')]],
    ['compile --target mindspore', ['compile', file, '--target', 'mindspore', '-o', path.join(out, 'pkg')]],
    ['run (cpu)', ['run', file, '--shape', 'x=1x2x4096']],
    ['verify (cpu)', ['verify', file, '--shape', 'x=1x2x4096']],
  ];
  for (const [what, args] of rows) {
    const r = measure(args);
    const status = r.code === 0 ? 'ok' : `exit ${r.code}: ${r.err}`;
    console.log(`  ${what.padEnd(28)} peak RSS ${r.rssGiB.toFixed(2)} GiB = ${(r.rssGiB / size).toFixed(2)}x the model   (${r.s.toFixed(1)} s, ${status})`);
  }
  fs.rmSync(out, { recursive: true, force: true });
}

main();
