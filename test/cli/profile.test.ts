/** `compile --profile`: every phase of both targets with its time and memory, in the output and, asked for, in the plan. */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { msgraph } from '../helpers/cli.js';
import { MODELS_DIR, runOnnx } from '../helpers/ort.js';
import { encodeProto, largeMatMulModel } from '../helpers/proto-models.js';
import { Tensor } from '../../src/ir/tensor.js';
import { dtypeFromName } from '../../src/ir/dtype.js';
import { DEFAULT_PIPELINE } from '../../src/passes/registry.js';
import { ORT_LOWERING } from '../../src/backends/ort/target-passes.js';

describe('compile --profile', () => {
  it('onnx: decode, dialect, each pass, lowering, encode and write, in the table and in the plan', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-prof-'));
    const out = path.join(dir, 'u.onnx');
    const r = msgraph(['compile', path.join(MODELS_DIR, 'unet_tiny.onnx'), '-o', out, '--profile']);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(fs.readFileSync(`${out}.plan.json`, 'utf8')) as { profile: { phase: string; ms: number; retained_bytes?: number }[] };
    const phases = plan.profile.map((p) => p.phase);
    expect(phases.slice(0, 5)).toEqual(['read and decode', 'verify', 'specialise inputs', 'to the mint dialect', 'shape inference']);
    // The dialect passes, then the target's lowering passes.
    expect(phases.filter((p) => p.startsWith('pass ')).map((p) => p.slice(5))).toEqual([...DEFAULT_PIPELINE, ...ORT_LOWERING]);
    expect(phases.slice(-7)).toEqual(['pass lower-fused', 'pass lower-to-onnx', 'pass fuse-conv-activation', 'pass ep-guards', 'shape inference (lowered)', 'plan', 'encode']);
    expect(plan.profile.every((p) => p.ms >= 0 && typeof p.retained_bytes === 'number')).toBe(true);
    for (const p of [...phases, 'write', 'total']) expect(r.stderr).toContain(`  ${p} `);
    // Without the flag the plan has no profile.
    expect(msgraph(['compile', path.join(MODELS_DIR, 'unet_tiny.onnx'), '-o', out]).code).toBe(0);
    expect(JSON.parse(fs.readFileSync(`${out}.plan.json`, 'utf8')).profile).toBeUndefined();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('onnx: a model with 32 MiB of weights and more has them written while it compiles, all kept; it runs as before', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-ahead-'));
    try {
      const k = 2560;
      const src = path.join(dir, 'big.onnx');
      fs.writeFileSync(src, encodeProto(largeMatMulModel(k)));
      const out = path.join(dir, 'out', 'big.onnx');
      const r = msgraph(['compile', src, '-o', out, '--profile']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('  start writing ahead ');
      expect(r.stderr).toMatch(/written ahead: 40\.0 MiB, of which 40\.0 MiB kept/);
      const x = new Map([['x', Tensor.fromBytes(dtypeFromName('float32')!, [1, k], new Uint8Array(new Float32Array(k).map((_, i) => Math.cos(i)).buffer))]]);
      const [a, b] = [await runOnnx(src, x, { unoptimized: true }), await runOnnx(out, x, { unoptimized: true })];
      expect(b.get('y')!.bytes).toEqual(a.get('y')!.bytes);
      // A compile that fails after the writing started leaves nothing beside the output.
      const bad = msgraph(['compile', src, '-o', path.join(dir, 'out', 'bad.onnx'), '--shape', 'nosuch=1x2']);
      expect(bad.code, bad.stderr).toBe(2);
      expect(fs.readdirSync(path.join(dir, 'out')).sort()).toEqual(['big.onnx', 'big.onnx.plan.json']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('mindspore: the emitter\'s phases and the streamed weight writing; the report keeps them only when asked', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msgraph-prof-'));
    const r = msgraph(['compile', path.join(MODELS_DIR, 'bert.onnx'), '--target', 'mindspore', '-o', path.join(dir, 'pkg'), '--profile']);
    expect(r.code, r.stderr).toBe(0);
    for (const p of ['read and decode', 'to the mint dialect', 'pass fuse-attention', 'layers and statements', 'module tree', 'Python code', 'write (weights streamed)']) expect(r.stderr).toContain(`  ${p} `);
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'pkg', 'report.json'), 'utf8'));
    expect(report.profile.map((p: { phase: string }) => p.phase)).toContain('Python code');
    expect(msgraph(['compile', path.join(MODELS_DIR, 'bert.onnx'), '--target', 'mindspore', '-o', path.join(dir, 'pkg')]).code).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'pkg', 'report.json'), 'utf8')).profile).toBeUndefined();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
