/** `verify --target mindspore`: the package run under the torch-backed stand-in (not MindSpore) against onnxruntime. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { MsgraphError } from '../src/errors.js';
import { Tensor } from '../src/ir/tensor.js';
import { dtypeFromName } from '../src/ir/dtype.js';
import { externalLocations, fileSource, modelFromFileBytes, openModelFile, writeFilesAtomic } from '../src/frontend/onnx/node-fs.js';
import { createSession, type ModelSource } from '../src/backends/ort/session.js';
import { compareTensors, type VerifyReport } from '../src/backends/ort/verify.js';
import { buildMindSporePackage } from '../src/backends/mindspore/package.js';
import type { Progress } from './progress.js';
import { feedsFor, type OrtFlags } from './ort-models.js';

export async function verifyMindSpore(file: string, opts: OrtFlags & { inputs?: string }, tol: { rtol: number; atol: number }, progress: Progress): Promise<VerifyReport> {
  const py = '/usr/bin/python3';
  const standin = path.resolve(import.meta.dirname, '../../standin');
  if (!fs.existsSync(path.join(standin, 'run_package.py'))) throw new MsgraphError('unsupported', 'verify --target mindspore needs the stand-in (standin/), which this installation lacks');
  if (spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' }).status !== 0) {
    throw new MsgraphError('unsupported', 'verify --target mindspore runs the package under a torch-backed stand-in and needs Debian\'s PyTorch', { hint: 'apt-get install -y python3-torch python3-numpy' });
  }
  const { bytes, model } = openModelFile(file);
  const original: ModelSource = externalLocations(model).length ? fileSource(file) : bytes;
  const feeds = feedsFor(model, opts.inputs, opts);
  progress.set('emitting the MindSpore package');
  const pkg = buildMindSporePackage(modelFromFileBytes(bytes, file), { source: path.basename(file), reuseBuffers: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-verify-'));
  try {
    for (const [n, c] of pkg.files) writeFilesAtomic([[path.join(dir, n), c]]);
    // Tensors travel as raw little-endian files with a small index: no size limit from JSON strings.
    writeRawTensors(path.join(dir, 'inputs'), feeds);
    progress.set('running the package under the stand-in');
    const r = spawnSync(py, [path.join(standin, 'run_package.py'), dir, path.join(dir, 'inputs'), path.join(dir, 'outputs')], { encoding: 'utf8', maxBuffer: 16 << 20 });
    if (r.status !== 0) throw new MsgraphError('unsupported', `the package failed under the stand-in: ${r.stderr.trim().split('\n').pop()}`);
    const out = readRawTensors(path.join(dir, 'outputs'));
    progress.set('running the original');
    const s = await createSession(original, { ep: 'cpu' });
    let want: Map<string, Tensor>;
    try {
      want = await s.run(feeds);
    } finally {
      await s.release();
    }
    const outputs = [...want].map(([n, t]) => {
      const g = out.tensors.get(n);
      return g ? compareTensors(n, t, g, tol) : { name: n, ok: false, maxAbs: Infinity, maxRel: Infinity, mismatches: t.size, elements: t.size, problem: 'missing from the package\'s outputs' };
    });
    const notLoaded = (out.extra.not_loaded ?? []) as string[];
    const unused = (out.extra.unused ?? []) as string[];
    if (notLoaded.length || unused.length) outputs.push({ name: 'parameters', ok: false, maxAbs: 0, maxRel: 0, mismatches: notLoaded.length + unused.length, elements: 0, problem: `not loaded: ${notLoaded.join(', ')}; unused: ${unused.join(', ')}` });
    return { ok: outputs.every((c) => c.ok), outputs };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Tensors as `<dir>/<i>.bin` (raw little-endian bytes) plus `<dir>/index.json` with names, dtypes and shapes. */
function writeRawTensors(dir: string, tensors: Map<string, Tensor>): void {
  fs.mkdirSync(dir);
  const index: { name: string; dtype: string; shape: number[]; file: string }[] = [];
  [...tensors].forEach(([name, t], i) => {
    const file = `${i}.bin`;
    fs.writeFileSync(path.join(dir, file), t.bytes);
    index.push({ name, dtype: t.dtype.name, shape: [...t.dims], file });
  });
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ tensors: index }));
}

function readRawTensors(dir: string): { tensors: Map<string, Tensor>; extra: Record<string, unknown> } {
  const { tensors, ...extra } = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as { tensors: { name: string; dtype: string; shape: number[]; file: string }[] };
  const out = new Map<string, Tensor>();
  for (const e of tensors) {
    const dtype = dtypeFromName(e.dtype);
    if (!dtype || !/^\d+\.bin$/.test(e.file)) throw new MsgraphError('unsupported', `the stand-in returned an unreadable tensor ${JSON.stringify(e.name)}`);
    const b = fs.readFileSync(path.join(dir, e.file));
    out.set(e.name, Tensor.fromBytes(dtype, e.shape, new Uint8Array(b.buffer, b.byteOffset, b.byteLength), e.name));
  }
  return { tensors: out, extra };
}
