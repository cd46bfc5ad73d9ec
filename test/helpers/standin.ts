/**
 * Runs emitted MindSpore packages under the torch-backed stand-in (standin/mindspore — NOT MindSpore) with
 * Debian's /usr/bin/python3, and compares outputs.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Tensor } from '../../src/ir/tensor.js';
import { concatChunks } from '../../src/frontend/onnx/protobuf.js';
import { compareTensors } from '../../src/backends/ort/verify.js';
import { dtypeFromName } from '../../src/ir/dtype.js';
import type { RunOutput } from './ort.js';

export const PY = '/usr/bin/python3';
export const STANDIN_DIR = path.resolve(import.meta.dirname, '../../standin');

const probe = spawnSync(PY, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
export const HAS_TORCH = probe.status === 0;

export interface StandinRun {
  outputs: Map<string, Tensor>;
  notLoaded: string[];
  unused: string[];
  parameters: string[];
}

/** The text of one file of a package. */
export function packageText(files: readonly [string, Iterable<Uint8Array>][], name: string): string {
  const f = files.find(([n]) => n === name);
  if (!f) throw new Error(`the package has no ${name}`);
  return Buffer.from(concatChunks([...f[1]])).toString('utf8');
}

export function writePackage(files: readonly [string, Iterable<Uint8Array>][], dir?: string): string {
  const d = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-ms-'));
  fs.mkdirSync(d, { recursive: true });
  for (const [name, chunks] of files) fs.writeFileSync(path.join(d, name), concatChunks([...chunks]));
  return d;
}

/** Runs a package under the stand-in; tensors travel as raw files (index.json + .bin), as `verify --target mindspore` sends them. */
export function runStandin(dir: string, feeds: Map<string, Tensor>, env: Record<string, string> = {}): StandinRun {
  const inDir = path.join(dir, 'standin-inputs');
  const outDir = path.join(dir, 'standin-outputs');
  fs.rmSync(inDir, { recursive: true, force: true });
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(inDir);
  const index = [...feeds].map(([name, t], i) => {
    fs.writeFileSync(path.join(inDir, `${i}.bin`), t.bytes);
    return { name, dtype: t.dtype.name, shape: [...t.dims], file: `${i}.bin` };
  });
  fs.writeFileSync(path.join(inDir, 'index.json'), JSON.stringify({ tensors: index }));
  const r = spawnSync(PY, [path.join(STANDIN_DIR, 'run_package.py'), dir, inDir, outDir], {
    encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`stand-in run failed:\n${r.stderr.split('\n').slice(-8).join('\n')}`);
  const out = JSON.parse(fs.readFileSync(path.join(outDir, 'index.json'), 'utf8')) as {
    tensors: { name: string; dtype: string; shape: number[]; file: string }[]; not_loaded: string[]; unused: string[]; parameters: string[];
  };
  const outputs = new Map(out.tensors.map((e) => [e.name, Tensor.fromBytes(dtypeFromName(e.dtype)!, e.shape, new Uint8Array(fs.readFileSync(path.join(outDir, e.file))), e.name)]));
  return { outputs, notLoaded: out.not_loaded, unused: out.unused, parameters: out.parameters };
}

/**
 * Max |a - b| relative to max |a| (absolute when a is all zeros); Infinity when dtypes or shapes differ or a NaN or
 * infinity is not matched exactly.
 */
export function relError(expected: Tensor | RunOutput, got: Tensor): number {
  const a = expected instanceof Tensor ? expected : Tensor.fromBytes(dtypeFromName(expected.dtype)!, expected.dims, expected.bytes);
  // Infinite tolerances: only what can never match (non-finite values, dtype, shape) counts as a mismatch.
  const c = compareTensors('', a, got, { rtol: Infinity, atol: Infinity });
  return c.mismatches || c.problem ? Infinity : c.maxRel;
}
