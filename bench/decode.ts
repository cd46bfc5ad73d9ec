/**
 * Decode benchmark: msgraph's ONNX decode (read + parse + IR import) against onnxruntime-node's
 * InferenceSession.create on the same file, and msgraph's peak RSS against the file size.
 * Each measurement runs in a fresh child process (one at a time, so sessions never compete for the 2 cores).
 *
 *   node dist/bench/decode.js [model.onnx] [--runs N]
 * Without a model it uses torchvision's vit_b_16, exported on first use with Debian's PyTorch.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelArgs } from './model-arg.js';


interface Sample {
  ms: number;
  maxRssBytes: number;
}

function child(mode: 'decode' | 'ort' | 'baseline', file: string): Sample {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', mode, file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${mode} child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Sample;
}

async function runChild(mode: string, file: string): Promise<void> {
  const t0 = performance.now();
  if (mode === 'decode') {
    const { loadModelFile } = await import('../src/frontend/onnx/node-fs.js');
    const m = loadModelFile(file);
    if (m.graph.nodeCount === 0) throw new Error('empty graph');
  } else if (mode === 'ort') {
    const ort = await import('onnxruntime-node');
    const s = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, extra: { session: { intra_op: { allow_spinning: '0' } } } });
    await s.release();
  } else {
    await import('../src/frontend/onnx/node-fs.js');
  }
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ ms, maxRssBytes: process.resourceUsage().maxRSS * 1024 }) + '\n');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return runChild(args[1]!, args[2]!);
  const { files: [file], runs } = modelArgs(args, 3);
  const size = fs.statSync(file).size;
  const dec: Sample[] = [];
  const ortS: Sample[] = [];
  const base: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    dec.push(child('decode', file));
    ortS.push(child('ort', file));
    base.push(child('baseline', file));
  }
  const d = median(dec.map((s) => s.ms));
  const o = median(ortS.map((s) => s.ms));
  const rss = median(dec.map((s) => s.maxRssBytes));
  const baseRss = median(base.map((s) => s.maxRssBytes));
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  console.log(`model: ${path.relative(process.cwd(), file)} (${mb(size)}), ${runs} runs each, medians`);
  console.log(`msgraph decode            ${d.toFixed(1)} ms`);
  console.log(`ORT InferenceSession.create ${o.toFixed(1)} ms`);
  console.log(`decode / session creation ${(d / o).toFixed(3)}x   (aim <= 0.25x)`);
  console.log(`peak RSS of decode        ${mb(rss)} (node + modules alone: ${mb(baseRss)})`);
  console.log(`peak RSS / file size      ${(rss / size).toFixed(3)}x   (aim <= 1.3x); without the runtime's own ${mb(baseRss)}: ${((rss - baseRss) / size).toFixed(3)}x`);
}

await main();
