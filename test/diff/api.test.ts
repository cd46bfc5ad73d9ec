/** The library API as the README shows it: loadModel, compile (onnx and mindspore), createSession, verify. */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compile, createSession, loadModel, verify, parseBundle } from '../../src/index.js';
import { MODELS_DIR } from '../helpers/ort.js';
import { DEFAULT_PIPELINE } from '../../src/passes/registry.js';

describe('library API', () => {
  it('loads, compiles for onnx with fixed shapes, runs on wasm and verifies per node', async () => {
    const file = path.join(MODELS_DIR, 'unet_tiny.onnx');
    const inputs = parseBundle(fs.readFileSync(path.join(MODELS_DIR, 'unet_tiny.io.json'), 'utf8')).inputs;
    const model = await loadModel(file);
    const compiled = compile(model, { target: 'onnx', shapes: { sample: [1, 4, 8, 8], timestep: [1], encoder_hidden_states: [1, 4, 16] } });
    expect(compiled.plan.memory.ratio).toBeLessThan(1);
    expect(compiled.passes.map((p) => p.name)).toEqual([...DEFAULT_PIPELINE]);
    expect(compiled.passes.find((p) => p.name === 'fuse-mha')!.stats.multi_head_attention).toBe(14);
    const session = await createSession(compiled.bytes(), { ep: 'wasm' });
    const outputs = await session.run(inputs);
    await session.release();
    expect(outputs.get('out_sample')!.dims).toEqual([1, 4, 8, 8]);
    const report = await verify(await loadModel(fs.readFileSync(file)), compiled.bytes(), { inputs, perNode: true });
    expect(report.ok).toBe(true);
    expect(report.firstDivergence).toBeNull();
    expect(report.sharedValues).toBeGreaterThan(100);
  });

  it('compiles to a MindSpore package in memory', async () => {
    const pkg = compile(await loadModel(path.join(MODELS_DIR, 'bert.onnx')), { target: 'mindspore', msVersion: '2.6.0' });
    expect([...pkg.files.keys()].sort()).toEqual(['model.py', 'model.safetensors', 'report.json', 'report.md', 'run_example.py', 'weight_map.json']);
    expect(new TextDecoder().decode(pkg.files.get('model.py'))).toMatch(/class Bert\(nn\.Cell\):/);
    expect(pkg.partial).toBe(false);
  });
});
