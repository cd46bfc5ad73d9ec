import { describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { loadModelFile } from '../../src/frontend/onnx/node-fs.js';
import { inspectModel, protoStats, type InspectSummary } from '../../src/frontend/inspect.js';
import { formatInspect } from '../../src/frontend/inspect-format.js';
import { parsePyStringList, scopeToPath, type ModuleInfo } from '../../src/frontend/hierarchy.js';
import { CORPUS_DIR, MODELS_DIR } from '../helpers/ort.js';
import * as fs from 'node:fs';

function inspectFile(file: string): InspectSummary {
  let stats: ReturnType<typeof protoStats> | undefined;
  const m = loadModelFile(file, { beforeImport: (p) => (stats = protoStats(p)) });
  return inspectModel(m, stats!, file);
}

function find(m: ModuleInfo, p: string): ModuleInfo | undefined {
  if (m.path === p) return m;
  for (const c of m.children) {
    const r = find(c, p);
    if (r) return r;
  }
  return undefined;
}

const corpus = (f: string) => path.join(CORPUS_DIR, f);
const hasCorpus = fs.existsSync(CORPUS_DIR);

describe('name parsing', () => {
  it('parses the dynamo exporter list literals', () => {
    expect(parsePyStringList("['', 'layer1', 'layer1.0']")).toEqual(['', 'layer1', 'layer1.0']);
    expect(parsePyStringList('["a\'b", \'c\']')).toEqual(["a'b", 'c']);
    expect(parsePyStringList('[]')).toEqual([]);
    expect(parsePyStringList('not a list')).toBeNull();
  });

  it('turns scopes into state_dict paths', () => {
    expect(scopeToPath(['layer1', 'layer1.0', 'conv1'])).toEqual(['layer1', '0', 'conv1']);
    expect(scopeToPath(['down_blocks.0', 'resnets.0', 'conv1'])).toEqual(['down_blocks', '0', 'resnets', '0', 'conv1']);
    expect(scopeToPath(['', 'encoder', 'encoder.layers.0'])).toEqual(['encoder', 'layers', '0']);
  });
});

describe('inspect', () => {
  it('recovers the diffusers-style module tree of the UNet from its names', () => {
    const s = inspectFile(path.join(MODELS_DIR, 'unet_tiny.onnx'));
    expect(s.exporter.kind).toBe('torch.onnx TorchScript');
    // Linear weights become transposed MatMul constants named onnx::MatMul_N; their biases keep the state_dict name.
    const out = find(s.modules, 'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0');
    expect(out?.params.map((p) => p.name)).toEqual(['bias']);
    expect(find(s.modules, 'mid_block.resnets.1.conv2')?.params.map((p) => p.name)).toEqual(['weight', 'bias']);
    expect(find(s.modules, 'up_blocks.1.attentions.1')).toBeDefined();
    expect(s.inputs.map((v) => v.name)).toEqual(['sample', 'timestep', 'encoder_hidden_states']);
    expect(s.inputs[0]!.shape).toEqual(['batch', 4, 'height', 'width']);
    const text = formatInspect(s);
    expect(text).toContain('torch.onnx TorchScript');
    expect(text).toContain('down_blocks');
  });

  it('sums parameters and counts nodes', () => {
    const s = inspectFile(path.join(MODELS_DIR, 'bert.onnx'));
    expect(s.parameterCount).toBeGreaterThan(50_000);
    expect(s.nodeCount).toBe(Object.values(s.opHistogram).reduce((a, b) => a + b, 0));
    expect(s.opHistogram.MatMul).toBeGreaterThan(0);
  });

  it.skipIf(!hasCorpus)('detects the dynamo exporter and reads class names from metadata', () => {
    const s = inspectFile(corpus('burn-onnx__hard_swish.onnx'));
    expect(s.exporter.kind).toBe('torch.onnx dynamo');
    expect(s.modules.className).toBe('__main__.Model');
    expect(s.modules.children.map((c) => [c.name, c.className])).toEqual([['hardswish', 'torch.nn.modules.activation.Hardswish']]);
  });

  it.skipIf(!hasCorpus)('reads scoped names of the torch >= 2.0 TorchScript exporter', () => {
    const s = inspectFile(corpus('onnxruntime-extensions__FastestDet.onnx'));
    expect(s.exporter.kind).toBe('torch.onnx TorchScript');
    expect(s.exporter.evidence.join(' ')).toMatch(/scoped names/);
    expect(find(s.modules, 'backbone.stage2')).toBeDefined();
  });

  it.skipIf(!hasCorpus)('counts stored nodes and inlined nodes separately for local functions', () => {
    const s = inspectFile(corpus('experimental-experiment__llama_forward_localfuncs.onnx'));
    expect(s.localFunctions.length).toBe(18);
    expect(s.nodeCount).toBe(279);
    expect(s.ir.nodeCount).toBeGreaterThan(s.nodeCount);
    expect(s.exporter.kind).toBe('torch.onnx dynamo');
  });

  it.skipIf(!hasCorpus)('handles IR 1 files without opset imports', () => {
    const s = inspectFile(corpus('onnx-tutorials__super_resolution.onnx'));
    expect(s.irVersion).toBe(1);
    expect(s.opsets).toEqual({});
    expect(s.nodeCount).toBe(14);
  });
});
