/**
 * Compile cost against onnxruntime's own start-up: the whole `msgraph compile` process (--target onnx and
 * --target mindspore) against onnxruntime-node's InferenceSession.create on the same file, and each compile's
 * peak RSS against the file size. Every measurement runs in a fresh child process, one at a time, the three in
 * turns. The outputs of
 * each run are deleted, and each measurement waits until the system has written out what earlier ones left in the
 * page cache: on this kind of machine writes slow down several times over once a few hundred MiB are waiting to go
 * to disk, which is the previous run's doing, not the one measured.
 *
 *   node dist/bench/compile.js [model.onnx ...] [--runs N]
 * Without a model it uses torchvision's vit_b_16, exported on first use with Debian's PyTorch. A package with
 * fallbacks (exit 3) counts as a compile; a model onnxruntime cannot load is timed on the compile side only.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelArgs } from './model-arg.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const CLI = path.join(root, 'dist/cli/msgraph.js');
const MEASURE = path.join(root, 'scripts/measure-cli.mjs');

interface Sample {
  ms: number;
  rss: number;
}

/** onnxruntime-node in a child: the create call's own time, and the whole process's (null: it cannot load it). */
function ortChild(file: string): { create: number; process: number } | null {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--ort-child', file], { encoding: 'utf8' });
  const whole = performance.now() - t0;
  if (r.status !== 0) return null;
  return { create: Number(r.stdout.trim().split('\n').pop()), process: whole };
}

async function ortCreate(file: string): Promise<void> {
  const ort = await import('onnxruntime-node');
  const t0 = performance.now();
  const s = await ort.InferenceSession.create(file);
  const ms = performance.now() - t0;
  await s.release();
  process.stdout.write(`${ms}\n`);
}

function cli(args: string[]): Sample {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [MEASURE, ...args], { encoding: 'utf8', env: { ...process.env, MSGRAPH_CLI: CLI } });
  const ms = performance.now() - t0;
  if (r.status !== 0 && r.status !== 3) throw new Error(`msgraph ${args.join(' ')} failed: ${r.stderr}`);
  const m = /@@maxrss (\d+)/.exec(r.stderr);
  return { ms, rss: m ? Number(m[1]) * 1024 : NaN };
}

/** Waits (up to 20 s) until less than 64 MiB of written data is waiting to go to disk (Linux; elsewhere at once). */
function settle(): void {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    let info: string;
    try {
      info = fs.readFileSync('/proc/meminfo', 'utf8');
    } catch {
      return;
    }
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(info)?.[1] ?? 0);
    if (kib('Dirty') + kib('Writeback') < 64 * 1024) return;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function modelSize(file: string): number {
  let size = fs.statSync(file).size;
  const data = `${file}.data`;
  if (fs.existsSync(data)) size += fs.statSync(data).size;
  return size;
}

function bench(file: string, runs: number): void {
  const size = modelSize(file);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-bench-'));
  const rows = { create: [] as number[], ortProcess: [] as number[], onnx: [] as Sample[], ms: [] as Sample[] };
  let ortFailed = false;
  try {
    // The three take turns going first: what ran just before changes the next one's time (memory another process
    // just released is slower to hand out again on this kind of machine).
    const steps = [
      () => {
        const o = ortFailed ? null : ortChild(file);
        if (!o) ortFailed = true;
        else {
          rows.create.push(o.create);
          rows.ortProcess.push(o.process);
        }
      },
      () => rows.onnx.push(cli(['compile', file, '-o', path.join(out, 'm.onnx')])),
      () => rows.ms.push(cli(['compile', file, '--target', 'mindspore', '-o', path.join(out, 'pkg')])),
    ];
    for (let i = 0; i < runs; i++) {
      for (let k = 0; k < steps.length; k++) {
        settle();
        steps[(i + k) % steps.length]!();
        fs.rmSync(out, { recursive: true, force: true });
      }
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
  const create = ortFailed ? NaN : median(rows.create);
  const ortProcess = ortFailed ? NaN : median(rows.ortProcess);
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  if (process.env.BENCH_VERBOSE) console.log(JSON.stringify({ create: rows.create.map(Math.round), onnx: rows.onnx.map((s) => Math.round(s.ms)), ms: rows.ms.map((s) => Math.round(s.ms)) }));
  console.log(`model: ${path.relative(process.cwd(), file)} (${mib(size)}), ${runs} runs each, medians; every command in a fresh process`);
  console.log(ortFailed
    ? 'onnxruntime-node InferenceSession.create   cannot load this model'
    : `onnxruntime-node InferenceSession.create   ${create.toFixed(0).padStart(6)} ms   (its whole process: ${ortProcess.toFixed(0)} ms)`);
  for (const [what, s, aim] of [['msgraph compile --target onnx', rows.onnx, 0.5], ['msgraph compile --target mindspore', rows.ms, 1.0]] as const) {
    const ms = median(s.map((x) => x.ms));
    const rss = median(s.map((x) => x.rss));
    const vs = ortFailed ? '' : `${(ms / create).toFixed(2)}x session creation (aim <= ${aim}x; ${(ms / ortProcess).toFixed(2)}x its process)   `;
    console.log(`${what.padEnd(42)} ${ms.toFixed(0).padStart(6)} ms   ${vs}peak RSS ${mib(rss)} = ${(rss / size).toFixed(2)}x the file${size >= 64 * 2 ** 20 ? ' (aim <= 1.3x)' : ''}`);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--ort-child') return ortCreate(args[1]!);
  const { files, runs } = modelArgs(args, 5);
  for (const file of files) bench(file, runs);
}

await main();
