/**
 * Fusions on small built graphs: what fuses, what does not and why, idempotence, and that the fused graph computes
 * what the unfused one does on onnxruntime-node.
 */
import { describe, expect, it } from 'vitest';
import { lowerToOnnx } from '../../src/dialect/lower.js';
import { lowerFusedForOrt } from '../../src/backends/ort/lower-fused.js';
import { concatChunks, encodeModelBytes } from '../../src/frontend/onnx/index.js';
import { randomInputs, runOnnx } from '../helpers/ort.js';
import { relError } from '../helpers/standin.js';
import { Model } from '../../src/ir/model.js';
import type { Value } from '../../src/ir/value.js';
import { toMint } from '../../src/dialect/to-mint.js';
import { inferShapes } from '../../src/dialect/ops/infer.js';
import { ATTENTION_RULES } from '../../src/passes/fusion/attention.js';
import { ACTIVATION_RULES } from '../../src/passes/fusion/activations.js';
import { GROUP_NORM_RULES, LAYER_NORM_RULES, RMS_NORM_RULES } from '../../src/passes/fusion/norms.js';
import { MHA_RULES } from '../../src/passes/fusion/mha.js';
import { GEGLU_RULES } from '../../src/passes/fusion/geglu.js';
import { ROTARY_RULES } from '../../src/passes/fusion/rotary.js';
import { applyRules, type ConstOf, type Rule } from '../../src/passes/pattern.js';
import { GEGLU_OP, GROUP_NORM_OP, LAYER_NORM_OP, MHA_OP, ROTARY_OP, SDPA_OP } from '../../src/dialect/fused.js';
import type { Graph } from '../../src/ir/graph.js';
import { runPasses } from '../../src/passes/manager.js';
import { DEFAULT_PIPELINE, MINDSPORE_PIPELINE } from '../../src/passes/registry.js';
import { Tensor } from '../../src/ir/tensor.js';
import { verify } from '../../src/ir/verify.js';
import { printGraph } from '../../src/ir/print.js';
import { Builder, i64 } from '../helpers/builder.js';
import { dtypeFromName } from '../../src/ir/dtype.js';

const constOf = (v: Value | null | undefined) => v?.const ?? null;
const rules = (list: Rule[]) => (g: Graph, c: ConstOf) => {
  const r = applyRules(g, c, list);
  return { fused: r.fused, nearMisses: r.nearMisses };
};
const [fuseAttention, fuseGroupNorm, fuseLayerNorm, fuseRmsNorm, fuseGeglu] = [ATTENTION_RULES, GROUP_NORM_RULES, LAYER_NORM_RULES, RMS_NORM_RULES, GEGLU_RULES].map(rules);
const fuseMha = (g: Graph) => rules(MHA_RULES)(g, constOf);
const fuseActivations = (g: Graph, c: ConstOf) => applyRules(g, c, ACTIVATION_RULES).counts;
const activationNearMisses = (g: Graph, c: ConstOf) => applyRules(g, c, ACTIVATION_RULES).nearMisses;

function dialect(b: Builder): Model {
  const m = new Model(b.graph, 8, new Map([['', 17]]));
  toMint(m);
  inferShapes(m);
  return m;
}

/**
 * The fused graph against the unfused one on onnxruntime-node: `make` builds the graph (dialect, not fused), `fuse`
 * fuses it; the fused ops are lowered as for the cpu EP and both run on the same random inputs.
 */
async function matchesUnfused(make: () => Model, fuse: (m: Model) => unknown, opset = 17): Promise<void> {
  const onnx = (m: Model) => {
    m.irVersion = Math.max(m.irVersion, 10);
    lowerToOnnx(m, { opset });
    return concatChunks(encodeModelBytes(m).chunks);
  };
  const ref = make();
  const fused = make();
  fuse(fused);
  expect(fused.graph.nodeCount, 'the fusion fired').toBeLessThan(ref.graph.nodeCount);
  lowerFusedForOrt(fused, 'cpu');
  const feeds = randomInputs(ref, 3);
  const want = await runOnnx(onnx(ref), feeds);
  const got = await runOnnx(onnx(fused), feeds);
  for (const [name, w] of want) {
    const g = got.get(name);
    expect(g, name).toBeDefined();
    expect(relError(w, Tensor.fromBytes(dtypeFromName(g!.dtype)!, g!.dims, g!.bytes)), name).toBeLessThanOrEqual(1e-5);
  }
}

function attention(opts: { scaleOp?: 'Mul' | 'Div'; mask?: boolean; transposeK?: boolean; axis?: number } = {}): Model {
  const b = new Builder();
  const q = b.input('q', [2, 4, 8, 16]);
  const k = b.input('k', [2, 4, 8, 16]);
  const v = b.input('v', [2, 4, 8, 16]);
  const kt = opts.transposeK === false ? b.input('kt', [2, 4, 16, 8]) : b.op('Transpose', [k], { attrs: { perm: { type: 'ints', value: [0, 1, 3, 2] } } }).outputs[0]!;
  const qk = b.op('MatMul', [q, kt]).outputs[0]!;
  const s = b.constant('s', opts.scaleOp === 'Div' ? [4] : [0.25], []);
  let scores = b.op(opts.scaleOp ?? 'Mul', [qk, s]).outputs[0]!;
  if (opts.mask) scores = b.op('Add', [scores, b.input('mask', [2, 1, 1, 8])]).outputs[0]!;
  const p = b.op('Softmax', [scores], { attrs: { axis: { type: 'int', value: opts.axis ?? -1 } } }).outputs[0]!;
  b.output(b.op('MatMul', [p, v]).outputs[0]!);
  return dialect(b);
}

describe('attention fusion', () => {
  it('fuses softmax(Q·Kᵀ·scale + mask)·V, absorbing the K transpose', () => {
    const m = attention({ mask: true });
    const r = fuseAttention(m.graph, constOf);
    expect(r.fused).toBe(1);
    verify(m.graph);
    const ops = m.graph.nodes.map((n) => n.op);
    expect(ops).toEqual([SDPA_OP]);
    const n = m.graph.nodes[0]!;
    expect(n.inputs.map((v) => v?.name)).toEqual(['q', 'k', 'v', 'mask']);
    expect(n.attrs.get('scale')?.value).toBe(0.25);
    expect(n.attrs.get('key_transposed')?.value).toBe(0);
    expect(fuseAttention(m.graph, constOf).fused).toBe(0);
  });

  it('computes what the unfused graph computes (mask, Mul or Div scale, K transposed or given as Kᵀ)', async () => {
    for (const opts of [{ mask: true }, { scaleOp: 'Div' as const }, { scaleOp: 'Div' as const, transposeK: false }]) {
      await matchesUnfused(() => attention(opts), (m) => fuseAttention(m.graph, constOf));
    }
  });

  it('absorbs a scale applied to Q (q / sqrt(d)) and to K into the scale', async () => {
    const make = () => {
      const b = new Builder();
      const [q, k, v] = ['q', 'k', 'v'].map((n) => b.input(n, [2, 8, 16]));
      const qs = b.op('Div', [q!, b.constant('sq', [4], [])]).outputs[0]!;
      const ks = b.op('Mul', [k!, b.constant('sk', [0.5], [])]).outputs[0]!;
      const kt = b.op('Transpose', [ks], { attrs: { perm: { type: 'ints', value: [0, 2, 1] } } }).outputs[0]!;
      const p = b.op('Softmax', [b.op('MatMul', [qs, kt]).outputs[0]!], { attrs: { axis: { type: 'int', value: -1 } } }).outputs[0]!;
      b.output(b.op('MatMul', [p, v!]).outputs[0]!);
      return dialect(b);
    };
    await matchesUnfused(make, (m) => fuseAttention(m.graph, constOf));
    const m = make();
    expect(fuseAttention(m.graph, constOf).fused).toBe(1);
    verify(m.graph);
    expect(m.graph.nodes.map((n) => n.op)).toEqual([SDPA_OP]);
    const n = m.graph.nodes[0]!;
    expect(n.inputs.map((x) => x?.name)).toEqual(['q', 'k', 'v']);
    expect(n.attrs.get('scale')?.value).toBe(0.125);
  });

  it('takes the scale as a Div and keeps a Kᵀ that is not a transpose, flagged', () => {
    const m = attention({ scaleOp: 'Div', transposeK: false });
    expect(fuseAttention(m.graph, constOf).fused).toBe(1);
    const n = m.graph.nodes.find((x) => x.op === SDPA_OP)!;
    expect(n.attrs.get('scale')?.value).toBe(0.25);
    expect(n.attrs.get('key_transposed')?.value).toBe(1);
  });

  it('a failed match leaves the graph as it was (K permuted [1,2,0], V of another rank)', () => {
    const b = new Builder();
    const q = b.input('q', [2, 8, 16]);
    const k = b.input('k', [8, 2, 16]);
    const v = b.input('v', [2, 1, 8, 16]);
    const kp = b.op('Transpose', [k], { attrs: { perm: { type: 'ints', value: [1, 2, 0] } } }).outputs[0]!;
    const p = b.op('Softmax', [b.op('MatMul', [q, kp]).outputs[0]!], { attrs: { axis: { type: 'int', value: -1 } } }).outputs[0]!;
    b.output(b.op('MatMul', [p, v]).outputs[0]!);
    const m = dialect(b);
    const before = printGraph(m.graph);
    const r = fuseAttention(m.graph, constOf);
    expect(r.fused).toBe(0);
    expect(r.nearMisses[0]?.reason).toMatch(/rank/);
    expect(printGraph(m.graph)).toBe(before);
    inferShapes(m);
    verify(m.graph);
  });

  it('reports a softmax over another axis as a near-miss', () => {
    const m = attention({ axis: 2 });
    const r = fuseAttention(m.graph, constOf);
    expect(r.fused).toBe(0);
    expect(r.nearMisses[0]?.reason).toMatch(/last axis/);
  });
});

describe('activation fusions', () => {
  it('SiLU from x * sigmoid(x), either operand order', async () => {
    for (const order of [0, 1]) {
      const make = () => {
        const b = new Builder();
        const x = b.input('x', [2, 3]);
        const s = b.op('Sigmoid', [x]).outputs[0]!;
        b.output(b.op('Mul', order ? [s, x] : [x, s]).outputs[0]!);
        return dialect(b);
      };
      await matchesUnfused(make, (m) => fuseActivations(m.graph, constOf));
      const m = make();
      expect(fuseActivations(m.graph, constOf)).toMatchObject({ silu: 1, gelu: 0, hardswish: 0, hardsigmoid: 0 });
      expect(m.graph.nodes.map((n) => n.op)).toEqual(['mint.nn.functional.silu']);
      expect(fuseActivations(m.graph, constOf)).toMatchObject({ silu: 0, gelu: 0, hardswish: 0, hardsigmoid: 0 });
    }
  });

  it('GELU from the erf form torch exports', async () => {
    const make = () => {
      const b = new Builder();
      const x = b.input('x', [2, 3]);
      const d = b.op('Div', [x, b.constant('r2', [Math.SQRT2], [])]).outputs[0]!;
      const e = b.op('Erf', [d]).outputs[0]!;
      const a = b.op('Add', [e, b.constant('one', [1], [])]).outputs[0]!;
      const mm = b.op('Mul', [x, a]).outputs[0]!;
      b.output(b.op('Mul', [mm, b.constant('half', [0.5], [])]).outputs[0]!);
      return dialect(b);
    };
    await matchesUnfused(make, (m) => fuseActivations(m.graph, constOf));
    const m = make();
    expect(fuseActivations(m.graph, constOf).gelu).toBe(1);
    verify(m.graph);
    expect(m.graph.nodes.map((n) => n.op)).toEqual(['mint.nn.functional.gelu']);
  });

  it('does not fuse when an intermediate value is used elsewhere', () => {
    const b = new Builder();
    const x = b.input('x', [2, 3]);
    const s = b.op('Sigmoid', [x]).outputs[0]!;
    b.output(b.op('Mul', [x, s]).outputs[0]!, s);
    const m = dialect(b);
    expect(fuseActivations(m.graph, constOf).silu).toBe(0);
  });
});

describe('group-norm fusion', () => {
  function torchGroupNorm(affine: boolean) {
    const b = new Builder();
    const x = b.input('x', [2, 4, 3, 3]);
    const r1 = b.op('Reshape', [x, b.graph.addConstant('s', Tensor.fromArray(i64, [3], new BigInt64Array([0n, 2n, -1n])))]).outputs[0]!;
    const inorm = b.op('InstanceNormalization', [r1, b.constant('ones', [1, 1]), b.constant('zeros', [0, 0])], { attrs: { epsilon: { type: 'float', value: 1e-6 } } }).outputs[0]!;
    const shape = b.op('Shape', [x]).outputs[0]!;
    let y = b.op('Reshape', [inorm, shape]).outputs[0]!;
    if (affine) {
      y = b.op('Mul', [y, b.constant('norm.weight', [1, 2, 3, 4], [4, 1, 1])]).outputs[0]!;
      y = b.op('Add', [y, b.constant('norm.bias', [0, 1, 0, 1], [4, 1, 1])]).outputs[0]!;
    }
    b.output(y);
    return dialect(b);
  }

  it('fuses torch\'s Reshape/InstanceNormalization/Reshape/Mul/Add into one group_norm with per-channel affine', () => {
    const m = torchGroupNorm(true);
    const r = fuseGroupNorm(m.graph, constOf);
    expect(r.fused).toBe(1);
    verify(m.graph);
    const n = m.graph.nodes.find((x) => x.op === GROUP_NORM_OP)!;
    expect(n.attrs.get('num_groups')?.value).toBe(2);
    expect(n.inputs[1]!.const!.dims).toEqual([4]);
    expect(n.inputs[1]!.name).toBe('norm.weight');
    expect(n.attrs.has('affine')).toBe(false);
    expect(fuseGroupNorm(m.graph, constOf).fused).toBe(0);
  });

  it('computes what the unfused graph computes, with and without the affine part (GroupNormalization-21)', async () => {
    for (const affine of [true, false]) await matchesUnfused(() => torchGroupNorm(affine), (m) => fuseGroupNorm(m.graph, constOf), 21);
  });

  it('marks a GroupNorm without Mul/Add as affine-free', () => {
    const m = torchGroupNorm(false);
    expect(fuseGroupNorm(m.graph, constOf).fused).toBe(1);
    expect(m.graph.nodes.find((x) => x.op === GROUP_NORM_OP)!.attrs.get('affine')?.value).toBe(0);
  });
});

describe('multi-head attention fusion', () => {
  it('takes Q/K/V back through torch\'s head split and the result through the merge', async () => {
    await matchesUnfused(mhaGraph, (m) => {
      fuseAttention(m.graph, constOf);
      fuseMha(m.graph);
    });
    const m = mhaGraph();
    expect(fuseAttention(m.graph, constOf).fused).toBe(1);
    const r = fuseMha(m.graph);
    expect(r).toEqual({ fused: 1, nearMisses: [] });
    verify(m.graph);
    const n = m.graph.nodes.find((x) => x.op === MHA_OP)!;
    expect(n.inputs.map((v) => v?.name)).toEqual(['x', 'x', 'x']);
    expect(n.attrs.get('num_heads')?.value).toBe(2);
    expect(n.attrs.get('scale')?.value).toBe(0.5);
    expect(m.graph.outputs[0]!.producer).toBe(n);
  });

  function mhaGraph(): Model {
    const b = new Builder();
    const x = b.input('x', [2, 5, 8]);
    const split = (name: string) => {
      const r = b.op('Reshape', [x, b.graph.addConstant(`${name}_s`, Tensor.fromArray(i64, [4], new BigInt64Array([2n, 5n, 2n, 4n])))], { name: `${name}_reshape` }).outputs[0]!;
      return b.op('Transpose', [r], { name: `${name}_perm`, attrs: { perm: { type: 'ints', value: [0, 2, 1, 3] } } }).outputs[0]!;
    };
    const q = split('q');
    const k = split('k');
    const v = split('v');
    const kt = b.op('Transpose', [k], { attrs: { perm: { type: 'ints', value: [0, 1, 3, 2] } } }).outputs[0]!;
    const s = b.op('Mul', [b.op('MatMul', [q, kt]).outputs[0]!, b.constant('scale', [0.5], [])]).outputs[0]!;
    const o = b.op('MatMul', [b.op('Softmax', [s], { attrs: { axis: { type: 'int', value: -1 } } }).outputs[0]!, v]).outputs[0]!;
    const merged = b.op('Transpose', [o], { attrs: { perm: { type: 'ints', value: [0, 2, 1, 3] } } }).outputs[0]!;
    b.output(b.op('Reshape', [merged, b.graph.addConstant('m_s', Tensor.fromArray(i64, [3], new BigInt64Array([2n, 5n, 8n])))]).outputs[0]!);
    return dialect(b);
  }
});

describe('layer-norm fusion', () => {
  it('fuses ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add over trailing axes', async () => {
    await matchesUnfused(layerNormGraph, (m) => fuseLayerNorm(m.graph, constOf));
    const m = layerNormGraph();
    expect(fuseLayerNorm(m.graph, constOf).fused).toBe(1);
    verify(m.graph);
    const n = m.graph.nodes.find((z) => z.op === LAYER_NORM_OP)!;
    expect(n.inputs.map((z) => z?.name)).toEqual(['x', 'ln.weight', 'ln.bias']);
    expect(n.attrs.get('axis')?.value).toBe(2);
    expect(fuseLayerNorm(m.graph, constOf).fused).toBe(0);
  });

  function layerNormGraph(): Model {
    const b = new Builder();
    const x = b.input('x', [2, 3, 4]);
    const axes = { axes: { type: 'ints' as const, value: [-1] } };
    const mean = b.op('ReduceMean', [x], { attrs: axes }).outputs[0]!;
    const d = b.op('Sub', [x, mean]).outputs[0]!;
    const v = b.op('ReduceMean', [b.op('Pow', [d, b.constant('two', [2], [])]).outputs[0]!], { attrs: axes }).outputs[0]!;
    const sd = b.op('Sqrt', [b.op('Add', [v, b.constant('eps', [1e-5], [])]).outputs[0]!]).outputs[0]!;
    const y = b.op('Div', [d, sd]).outputs[0]!;
    const scaled = b.op('Mul', [y, b.constant('ln.weight', [1, 2, 3, 4])]).outputs[0]!;
    b.output(b.op('Add', [scaled, b.constant('ln.bias', [0, 0, 1, 1])]).outputs[0]!);
    return dialect(b);
  }
});

describe('activation near misses', () => {
  it('names an erf outside the GELU form, a shared sigmoid of x * sigmoid(x), a clamp(x + 3, 0, 6) not over 6', () => {
    const b = new Builder();
    const x = b.input('x', [2, 3]);
    const c = (n: string, v: number) => b.constant(n, [v], []);
    // erf(x / sqrt 2) * x without the 0.5 and the + 1.
    const erf = b.op('Erf', [b.op('Div', [x, c('r2', Math.SQRT2)]).outputs[0]!], { name: 'erf' }).outputs[0]!;
    const s = b.op('Sigmoid', [x], { name: 'sig' }).outputs[0]!;
    const clamp = b.op('Clip', [b.op('Add', [x, c('three', 3)]).outputs[0]!, c('lo', 0), c('hi', 6)], { name: 'relu6' }).outputs[0]!;
    // A gate of another value is not a near miss.
    const gate = b.op('Sigmoid', [b.op('Neg', [x]).outputs[0]!], { name: 'gate' }).outputs[0]!;
    b.output(b.op('Mul', [erf, x]).outputs[0]!, b.op('Mul', [x, s]).outputs[0]!, s, b.op('Mul', [clamp, x]).outputs[0]!, b.op('Mul', [x, gate]).outputs[0]!);
    const m = dialect(b);
    const before = printGraph(m.graph);
    expect(fuseActivations(m.graph, constOf)).toEqual({ silu: 0, gelu: 0, hardswish: 0, hardsigmoid: 0 });
    expect(printGraph(m.graph)).toBe(before);
    const misses = activationNearMisses(m.graph, constOf);
    expect(misses.map((n) => n.reason)).toEqual([
      expect.stringMatching(/^GELU \(erf\)/), expect.stringMatching(/^SiLU: .*other readers/), expect.stringMatching(/^HardSigmoid\/HardSwish/),
    ]);
  });
});

describe('GEGLU fusion', () => {
  /** h [2, 5, 8] -> halves (Split or two Slices) -> a * gelu(gate), with gelu already fused. */
  function geglu(form: 'split' | 'slices', swap = false): Model {
    const b = new Builder();
    const h = b.input('h', [2, 5, 8]);
    let a: Value;
    let gate: Value;
    if (form === 'split') {
      const s = b.op('Split', [h, b.graph.addConstant('sizes', Tensor.fromArray(i64, [2], BigInt64Array.from([4n, 4n]), 'sizes'))], { outputs: 2, attrs: { axis: { type: 'int', value: -1 } } });
      [a, gate] = [s.outputs[0]!, s.outputs[1]!];
    } else {
      const c = (n: string, v: number) => b.graph.addConstant(n, Tensor.fromArray(i64, [1], BigInt64Array.from([BigInt(v)]), n));
      a = b.op('Slice', [h, c('s0', 0), c('e0', 4), c('ax0', -1)]).outputs[0]!;
      gate = b.op('Slice', [h, c('s1', 4), c('e1', 8), c('ax1', -1)]).outputs[0]!;
    }
    if (swap) [a, gate] = [gate, a];
    const g = b.op('Gelu', [gate], { domain: '' }).outputs[0]!;
    b.output(b.op('Mul', [a, g]).outputs[0]!);
    const m = new Model(b.graph, 8, new Map([['', 20]]));
    toMint(m);
    inferShapes(m);
    return m;
  }

  for (const form of ['split', 'slices'] as const) {
    it(`${form}: a * gelu(gate) over the two halves -> one geglu; idempotent`, () => {
      const m = geglu(form);
      expect(fuseGeglu(m.graph, constOf)).toEqual({ fused: 1, nearMisses: [] });
      verify(m.graph);
      expect(m.graph.nodes.map((n) => n.op)).toEqual([GEGLU_OP]);
      expect(m.graph.nodes[0]!.inputs.map((v) => v?.name)).toEqual(['h']);
      expect(fuseGeglu(m.graph, constOf).fused).toBe(0);
    });
  }

  it('leaves gelu(first half) * second half alone, and says why', () => {
    const m = geglu('slices', true);
    const before = printGraph(m.graph);
    const r = fuseGeglu(m.graph, constOf);
    expect(r.fused).toBe(0);
    expect(r.nearMisses.map((n) => n.reason)).toEqual([expect.stringMatching(/GEGLU: the GELU is applied to the leading half/)]);
    expect(printGraph(m.graph)).toBe(before);
  });
});

describe('RMSNorm near misses', () => {
  /** x * reciprocal(sqrt(mean(x^2) + eps)), with one step changed by `bend`. */
  function rms(bend: { keepdims?: number; axes?: number[]; noEps?: boolean; divide?: boolean; xShape?: (number | string)[] }) {
    const b = new Builder();
    const x = b.input('x', bend.xShape ?? [2, 4, 8]);
    const sq = b.op('Pow', [x, b.constant('two', [2], [])]).outputs[0]!;
    const mean = b.op('ReduceMean', [sq], { name: 'mean', attrs: { axes: { type: 'ints', value: bend.axes ?? [-1] }, keepdims: { type: 'int', value: bend.keepdims ?? 1 } } }).outputs[0]!;
    const plus = bend.noEps ? b.op('Add', [mean, x]).outputs[0]! : b.op('Add', [mean, b.constant('eps', [1e-6], [])]).outputs[0]!;
    const root = b.op('Sqrt', [plus]).outputs[0]!;
    const out = bend.divide === false ? b.op('Sub', [x, root]).outputs[0]! : b.op('Mul', [x, b.op('Reciprocal', [root]).outputs[0]!]).outputs[0]!;
    b.output(out);
    return dialect(b);
  }
  const reasons = (m: Model) => fuseRmsNorm(m.graph, constOf).nearMisses.map((n) => n.reason);

  it('fuses the plain form and names why each bent form does not', () => {
    expect(fuseRmsNorm(rms({}).graph, constOf)).toMatchObject({ fused: 1, nearMisses: [] });
    // keepdims=0 over [8, 8] still broadcasts (to the wrong thing), so the graph is valid.
    expect(reasons(rms({ keepdims: 0, xShape: [8, 8] }))).toEqual([expect.stringMatching(/keepdims=0/)]);
    expect(reasons(rms({ axes: [1] }))).toEqual([expect.stringMatching(/not over trailing axes/)]);
    expect(reasons(rms({ noEps: true }))).toEqual([expect.stringMatching(/add reads x, not a constant scalar/)]);
    expect(reasons(rms({ divide: false }))).toEqual([expect.stringMatching(/sqrt .* is read by sub, not div or reciprocal/)]);
    expect(reasons(rms({ xShape: [2, 4, 'width'] }))).toEqual([expect.stringMatching(/normalised dims are symbolic/)]);
    // A near miss leaves the graph as it was.
    for (const m of [rms({ keepdims: 0, xShape: [8, 8] }), rms({ divide: false })]) {
      const before = printGraph(m.graph);
      fuseRmsNorm(m.graph, constOf);
      expect(printGraph(m.graph)).toBe(before);
    }
  });
});

/**
 * The forms the dynamo exporter (torch >= 2.9's default) writes through onnxscript's torch_lib at opset 18, built
 * node for node: they differ from TorchScript's in where the scale and the 0.5 sit.
 */
describe('dynamo (torch_lib) forms', () => {
  const perm = (value: number[]) => ({ perm: { type: 'ints' as const, value } });
  const axis = { axis: { type: 'int' as const, value: -1 } };

  /** torch_lib's scaled_dot_product_attention: sqrt(scale) on Q and on Kᵀ, then an additive mask. */
  function sdpa(mask: 'none' | 'float' | 'bool' | 'causal'): Model {
    const b = new Builder();
    const [q, k, v] = ['q', 'k', 'v'].map((n) => b.input(n, [2, 4, 8, 16]));
    const root = b.constant('sqrt_scale', [Math.sqrt(1 / Math.sqrt(16))], []);
    const qs = b.op('Mul', [q!, root]).outputs[0]!;
    const kt = b.op('Transpose', [k!], { attrs: perm([0, 1, 3, 2]) }).outputs[0]!;
    let scores = b.op('MatMul', [qs, b.op('Mul', [kt, root]).outputs[0]!]).outputs[0]!;
    if (mask !== 'none') {
      let m: Value = b.input('mask', [2, 1, 8, 8]);
      if (mask === 'bool' || mask === 'causal') {
        const cond = mask === 'bool' ? b.input('keep', [2, 1, 8, 8], dtypeFromName('bool')!)
          : b.op('Cast', [b.op('Trilu', [b.constant('ones', new Array(64).fill(1), [8, 8])], { attrs: { upper: { type: 'int', value: 0 } } }).outputs[0]!], { attrs: { to: { type: 'int', value: 9 } } }).outputs[0]!;
        m = b.op('Where', [cond, b.constant('zero', [0], []), b.constant('ninf', [-Infinity], [])]).outputs[0]!;
      }
      scores = b.op('Add', [scores, m]).outputs[0]!;
    }
    const p = b.op('Softmax', [scores], { attrs: axis }).outputs[0]!;
    b.output(b.op('MatMul', [p, v!]).outputs[0]!);
    return dialect(b);
  }

  for (const mask of ['none', 'float', 'causal'] as const) {
    it(`scaled_dot_product_attention, ${mask} mask: one attention with scale 1/sqrt(d), matching the unfused graph`, async () => {
      await matchesUnfused(() => sdpa(mask), (m) => fuseAttention(m.graph, constOf));
      const m = sdpa(mask);
      expect(fuseAttention(m.graph, constOf)).toMatchObject({ fused: 1, nearMisses: [] });
      const n = m.graph.nodes.find((x) => x.op === SDPA_OP)!;
      expect(n.attrs.get('scale')?.value).toBeCloseTo(0.25, 6);
      expect(n.attrs.get('key_transposed')?.value).toBe(0);
      expect(n.inputs.slice(0, 3).map((x) => x?.name)).toEqual(['q', 'k', 'v']);
    });
  }

  it('scaled_dot_product_attention with a boolean mask made additive by Where(mask, 0, -inf)', () => {
    const m = sdpa('bool');
    expect(fuseAttention(m.graph, constOf).fused).toBe(1);
    verify(m.graph, { checkNode: undefined });
  });

  /** The head-folded form of the LLM exports: bmm in [B*H, S, d], the scores viewed as [B, H, S, L] around the softmax. */
  function folded(): Model {
    const b = new Builder();
    const [q, k, v] = ['q', 'k', 'v'].map((n) => b.input(n, [4, 8, 16]));
    const shape = (n: string, dims: number[]) => b.graph.addConstant(n, Tensor.fromArray(i64, [dims.length], BigInt64Array.from(dims.map(BigInt)), n));
    const kt = b.op('Transpose', [k!], { attrs: perm([0, 2, 1]) }).outputs[0]!;
    const s4 = b.op('Reshape', [b.op('MatMul', [q!, kt]).outputs[0]!, shape('s4', [2, 2, 8, 8])]).outputs[0]!;
    const scaled = b.op('Mul', [s4, b.constant('s', [0.25], [])]).outputs[0]!;
    const p = b.op('Softmax', [b.op('Add', [scaled, b.input('mask', [2, 1, 8, 8])]).outputs[0]!], { attrs: axis }).outputs[0]!;
    b.output(b.op('MatMul', [b.op('Reshape', [p, shape('s3', [4, 8, 8])]).outputs[0]!, v!]).outputs[0]!);
    return dialect(b);
  }

  it('head-folded attention viewed as [B, H, S, L] around the softmax fuses in 3-D, the mask broadcast and folded', async () => {
    await matchesUnfused(folded, (m) => fuseAttention(m.graph, constOf));
    const m = folded();
    expect(fuseAttention(m.graph, constOf).fused).toBe(1);
    inferShapes(m);
    verify(m.graph);
  });

  /** x · (0.5 · (1 + core)): torch_lib's association. */
  function gelu(tanh: boolean): Model {
    const b = new Builder();
    const x = b.input('x', [2, 3, 8]);
    const c = (n: string, v: number) => b.constant(n, [v], []);
    const inner = tanh
      ? b.op('Tanh', [b.op('Mul', [c('k', Math.sqrt(2 / Math.PI)), b.op('Add', [x, b.op('Mul', [c('a', 0.044715), b.op('Pow', [x, c('three', 3)]).outputs[0]!]).outputs[0]!]).outputs[0]!]).outputs[0]!]).outputs[0]!
      : b.op('Erf', [b.op('Div', [x, c('r2', Math.SQRT2)]).outputs[0]!]).outputs[0]!;
    const half = b.op('Mul', [c('half', 0.5), b.op('Add', [inner, c('one', 1)]).outputs[0]!]).outputs[0]!;
    b.output(b.op('Mul', [x, half]).outputs[0]!);
    return dialect(b);
  }

  for (const tanh of [false, true]) {
    it(`gelu (approximate=${tanh ? 'tanh' : 'none'}) in torch_lib's association`, async () => {
      await matchesUnfused(() => gelu(tanh), (m) => fuseActivations(m.graph, constOf));
      const m = gelu(tanh);
      expect(fuseActivations(m.graph, constOf).gelu).toBe(1);
      expect(m.graph.nodes.map((n) => [n.op, n.attrs.get('approximate')?.value])).toEqual([['mint.nn.functional.gelu', tanh ? 'tanh' : undefined]]);
    });
  }

  it('rms_norm (decomposed: Pow, ReduceMean, Add, Sqrt, Reciprocal, Mul, then the weight first) with the weight folded in', async () => {
    const make = () => {
      const b = new Builder();
      const x = b.input('x', [2, 5, 8]);
      const mean = b.op('ReduceMean', [b.op('Pow', [x, b.constant('two', [2], [])]).outputs[0]!], { attrs: { axes: { type: 'ints', value: [-1] }, keepdims: { type: 'int', value: 1 } } }).outputs[0]!;
      const r = b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [mean, b.constant('eps', [1e-6], [])]).outputs[0]!]).outputs[0]!]).outputs[0]!;
      b.output(b.op('Mul', [b.constant('weight', [1, 2, 3, 4, 5, 6, 7, 8]), b.op('Mul', [x, r]).outputs[0]!]).outputs[0]!);
      return dialect(b);
    };
    await matchesUnfused(make, (m) => fuseRmsNorm(m.graph, constOf));
    const m = make();
    expect(fuseRmsNorm(m.graph, constOf).fused).toBe(1);
    expect(m.graph.nodes.map((n) => n.op)).toEqual(['msgraph.rms_norm']);
    expect(m.graph.nodes[0]!.inputs.map((v) => v?.name)).toEqual(['x', 'weight']);
  });
});

describe('rotary embedding fusion (the LLM exports)', () => {
  /** x * cos + cat(-x2, x1) * sin, the halves from a Split; `swap` writes cat(x1, -x2) instead (not the form). */
  function rotary(swap = false): Model {
    const b = new Builder();
    const x = b.input('x', [2, 4, 8, 16]);
    const [cos, sin] = ['cos', 'sin'].map((n) => b.input(n, [1, 1, 8, 16]));
    const s = b.op('Split', [x, b.graph.addConstant('sizes', Tensor.fromArray(i64, [2], BigInt64Array.from([8n, 8n]), 'sizes'))], { outputs: 2, attrs: { axis: { type: 'int', value: -1 } } });
    const neg = b.op('Neg', [s.outputs[1]!], { name: 'neg' }).outputs[0]!;
    const cat = b.op('Concat', swap ? [s.outputs[0]!, neg] : [neg, s.outputs[0]!], { attrs: { axis: { type: 'int', value: -1 } } }).outputs[0]!;
    b.output(b.op('Add', [b.op('Mul', [x, cos!]).outputs[0]!, b.op('Mul', [cat, sin!]).outputs[0]!]).outputs[0]!);
    return dialect(b);
  }
  const fuseRotary = rules(ROTARY_RULES);

  it('x * cos + cat(-x2, x1) * sin -> one rotary_embedding(x, cos, sin); idempotent', () => {
    const m = rotary();
    expect(fuseRotary(m.graph, constOf)).toEqual({ fused: 1, nearMisses: [] });
    verify(m.graph);
    expect(m.graph.nodes.map((n) => [n.op, n.inputs.map((v) => v?.name).join()])).toEqual([[ROTARY_OP, 'x,cos,sin']]);
    expect(fuseRotary(m.graph, constOf).fused).toBe(0);
  });

  it('leaves cat(x1, -x2) alone and says why', () => {
    const m = rotary(true);
    const before = printGraph(m.graph);
    const r = fuseRotary(m.graph, constOf);
    expect(r.fused).toBe(0);
    expect(r.nearMisses.map((n) => n.reason)).toEqual([expect.stringMatching(/^rotary embedding: /)]);
    expect(printGraph(m.graph)).toBe(before);
  });
});

describe('group_norm in torch_lib decomposition (opset 18)', () => {
  /** Reshape by Concat([0], [G], [-1]), InstanceNormalization with Expand(CastLike(1|0, x), [G]), Reshape by Shape(x), Unsqueeze(weight|bias, Range(1, rank - 1)). */
  function torchLibGroupNorm(): Model {
    const b = new Builder();
    const x = b.input('x', [2, 4, 3, 3]);
    const ints = (n: string, v: number[]) => b.graph.addConstant(n, Tensor.fromArray(i64, [v.length], BigInt64Array.from(v.map(BigInt)), n));
    const group = ints('group', [2]);
    const shape = b.op('Concat', [ints('zero', [0]), group, ints('neg1', [-1])], { attrs: { axis: { type: 'int', value: 0 } } }).outputs[0]!;
    const one = b.op('CastLike', [b.constant('one', [1], []), x]).outputs[0]!;
    const zero = b.op('CastLike', [b.constant('zerof', [0], []), x]).outputs[0]!;
    const n = b.op('InstanceNormalization', [b.op('Reshape', [x, shape]).outputs[0]!, b.op('Expand', [one, group]).outputs[0]!, b.op('Expand', [zero, group]).outputs[0]!], { attrs: { epsilon: { type: 'float', value: 1e-5 } } }).outputs[0]!;
    const back = b.op('Reshape', [n, b.op('Shape', [x]).outputs[0]!], { attrs: { allowzero: { type: 'int', value: 1 } } }).outputs[0]!;
    const scalar = (n: string, v: bigint) => b.graph.addConstant(n, Tensor.fromArray(i64, [], BigInt64Array.from([v]), n));
    const axes = b.op('Range', [scalar('start', 1n), scalar('limit', 3n), scalar('delta', 1n)]).outputs[0]!;
    const w = b.op('Unsqueeze', [b.constant('weight', [1, 2, 3, 4]), axes]).outputs[0]!;
    const bias = b.op('Unsqueeze', [b.constant('bias', [4, 3, 2, 1]), axes]).outputs[0]!;
    b.output(b.op('Add', [b.op('Mul', [back, w]).outputs[0]!, bias]).outputs[0]!);
    const m = new Model(b.graph, 8, new Map([['', 18]]));
    toMint(m);
    inferShapes(m);
    return m;
  }

  // The onnx target's canonicalisation before fuse-group-norm (a MindSpore-only fusion), and the MindSpore pipeline.
  const pipelines = { onnx: [...DEFAULT_PIPELINE.slice(0, 3), 'fuse-group-norm', 'dce'], mindspore: [...MINDSPORE_PIPELINE] };
  for (const [target, passes] of Object.entries(pipelines)) {
    it(`fuses in the ${target} target's pipeline, with the weight and bias folded in`, () => {
      const m = torchLibGroupNorm();
      const recs = runPasses(m, passes, { verifyEach: true });
      expect(recs.reduce((s, r) => s + (r.stats.group_norm ?? 0), 0)).toBe(1);
      const gn = m.graph.nodes.find((n) => n.op === GROUP_NORM_OP)!;
      expect(gn.attrs.get('affine')).toBeUndefined();
      expect(Array.from(gn.inputs[1]!.const!.toArray() as Float32Array)).toEqual([1, 2, 3, 4]);
    });
  }
});

describe('weights folded into a fused norm broadcast as the norm needs', () => {
  it("a [C] constant times a GroupNorm's [N, C, H, W] output (W = C) broadcasts over W: not folded in", () => {
    const b = new Builder();
    const x = b.input('x', [2, 4, 3, 4]);
    const ints = (n: string, v: number[]) => b.graph.addConstant(n, Tensor.fromArray(i64, [v.length], BigInt64Array.from(v.map(BigInt)), n));
    const n = b.op('InstanceNormalization', [b.op('Reshape', [x, ints('g', [2, 2, -1])]).outputs[0]!, b.constant('ones', [1, 1]), b.constant('zeros', [0, 0])]).outputs[0]!;
    const back = b.op('Reshape', [n, ints('back', [2, 4, 3, 4])]).outputs[0]!;
    b.output(b.op('Mul', [back, b.constant('w', [1, 2, 3, 4])]).outputs[0]!);
    const m = dialect(b);
    expect(fuseGroupNorm(m.graph, constOf).fused).toBe(1);
    expect(m.graph.nodes.map((x) => x.op)).toEqual([GROUP_NORM_OP, 'mint.mul']);
  });
});
