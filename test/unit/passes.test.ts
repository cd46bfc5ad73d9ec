/** Canonicalisation passes on small built graphs: what each removes, what it must keep, idempotence. */
import { describe, expect, it } from 'vitest';
import { Model } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';
import { toMint } from '../../src/dialect/to-mint.js';
import { InferenceCache, runPasses } from '../../src/passes/manager.js';
import type { Pass } from '../../src/passes/pass.js';
import { printGraph } from '../../src/ir/print.js';
import { verify, verifyProblems } from '../../src/ir/verify.js';
import { dtypeFromName } from '../../src/ir/dtype.js';
import { nodeChecks } from '../../src/dialect/check.js';
import { inferShapes } from '../../src/dialect/ops/infer.js';
import { Builder, i64 } from '../helpers/builder.js';

function model(b: Builder): Model {
  const m = new Model(b.graph, 8, new Map([['', 17]]));
  toMint(m);
  return m;
}

const ints = (b: Builder, name: string, vals: number[]) => b.graph.addConstant(name, Tensor.fromArray(i64, [vals.length], new BigInt64Array(vals.map(BigInt)), name));

function idempotent(m: Model, passes: string[]): void {
  const text = printGraph(m.graph);
  const again = runPasses(m, passes, { verifyEach: true });
  expect(again.every((r) => !r.modified)).toBe(true);
  expect(printGraph(m.graph)).toBe(text);
}

describe('remove-noops', () => {
  it('drops Identity and same-type Cast but keeps a reversing Slice and a shifting Pad', () => {
    const b = new Builder();
    const x = b.input('x', [4, 3]);
    const id = b.op('Identity', [x]).outputs[0]!;
    const c = b.op('Cast', [id], { attrs: { to: { type: 'int', value: 1 } } }).outputs[0]!;
    const rev = b.op('Slice', [c, ints(b, 's', [-1]), ints(b, 'e', [-1000]), ints(b, 'a', [0]), ints(b, 'st', [-1])]).outputs[0]!;
    const shifted = b.op('Pad', [rev, ints(b, 'p', [-1, 0, 1, 0])]).outputs[0]!;
    b.output(shifted);
    const m = model(b);
    const [r] = runPasses(m, ['remove-noops'], { verifyEach: true });
    expect(r!.stats.removed).toBe(2);
    expect(m.graph.nodes.map((n) => n.op)).toEqual(['msgraph.slice', 'mint.nn.functional.pad']);
    idempotent(m, ['remove-noops']);
  });
});

describe('fold-constants, cse, dce', () => {
  it('folds constant subgraphs and static shape arithmetic, merges duplicates, removes dead code', () => {
    const b = new Builder();
    const x = b.input('x', [2, 3]);
    const two = b.constant('two', [2], []);
    const four = b.op('Add', [two, two]).outputs[0]!;
    const y = b.op('Mul', [x, four]).outputs[0]!;
    const shape = b.op('Shape', [x]).outputs[0]!;
    const r = b.op('Reshape', [y, shape]).outputs[0]!;
    const s1 = b.op('Sigmoid', [r]).outputs[0]!;
    const s2 = b.op('Sigmoid', [r]).outputs[0]!;
    b.op('Tanh', [x]);
    b.output(b.op('Add', [s1, s2]).outputs[0]!);
    const m = model(b);
    const recs = runPasses(m, ['fold-constants', 'cse', 'dce'], { verifyEach: true });
    expect(recs[0]!.stats).toEqual({ evaluated: 1, shapes: 1 });
    expect(recs[1]!.stats.merged).toBe(1);
    expect(recs[2]!.stats.nodes).toBe(1);
    expect(m.graph.nodes.map((n) => n.op)).toEqual(['mint.mul', 'mint.reshape', 'mint.sigmoid', 'mint.add']);
    idempotent(m, ['fold-constants', 'cse', 'dce']);
  });

  it('cse merges equal tensor attributes only: strings by their contents, data on disk by where it is', () => {
    const b = new Builder();
    const str = dtypeFromName('string')!;
    const enc = (t: string) => new TextEncoder().encode(t);
    const konst = (t: Tensor) => b.op('Constant', [], { attrs: { value: { type: 'tensor', value: t } } }).outputs[0]!;
    const s1 = konst(Tensor.fromStrings([1], [enc('left')], str));
    const s2 = konst(Tensor.fromStrings([1], [enc('right')], str));
    const s3 = konst(Tensor.fromStrings([1], [enc('left')], str));
    for (const v of [s1, s2, s3]) b.output(b.op('Identity', [v]).outputs[0]!);
    const m = model(b);
    const [r] = runPasses(m, ['cse'], { verifyEach: true });
    expect(r!.stats.merged).toBe(1); // s3 into s1; s2 holds other strings
    const kept = m.graph.nodes.filter((n) => n.op === 'Constant' || n.attrs.has('value'));
    expect(kept.map((n) => new TextDecoder().decode((n.attrs.get('value')!.value as Tensor).strings[0]))).toEqual(['left', 'right']);
  });

  it('does not fold past its size cap', () => {
    const b = new Builder();
    const x = b.input('x', [2]);
    const shape = ints(b, 'shape', [64, 64]);
    const big = b.op('ConstantOfShape', [shape]).outputs[0]!;
    b.output(b.op('Add', [b.op('ReduceSum', [big], { attrs: { keepdims: { type: 'int', value: 0 } } }).outputs[0]!, x]).outputs[0]!);
    const m = model(b);
    runPasses(m, ['fold-constants'], { foldLimit: 1024 });
    expect(m.graph.nodes.some((n) => n.op === 'msgraph.constant_of_shape')).toBe(true);
  });

  it('names the pass in errors and rejects unknown passes', () => {
    const b = new Builder();
    b.output(b.input('x', [1]));
    const m = model(b);
    expect(() => runPasses(m, ['fold-everything'])).toThrow(/unknown pass "fold-everything"/);
  });
});

describe('verifyEach', () => {
  /** Q·Kᵀ with K through a permutation [1,2,0]: valid as built. */
  function valid(): Model {
    const b = new Builder();
    const q = b.input('q', [2, 8, 16]);
    const k = b.input('k', [8, 2, 16]);
    const kp = b.op('Transpose', [k], { attrs: { perm: { type: 'ints', value: [1, 2, 0] } } }).outputs[0]!;
    b.output(b.op('MatMul', [q, kp]).outputs[0]!);
    return model(b);
  }

  it('runs inference again after each pass: a matmul whose inner dims differ fails, naming the pass', () => {
    // What fuse-attention once left behind after a failed match: K's permutation rewritten to [1,0,2] (the swap of
    // the last two dims folded in) while the values keep their types, so the graph's own invariants still hold.
    const m = valid();
    [...m.graph].find((n) => n.op === 'mint.permute')!.setAttr('perm', { type: 'ints', value: [1, 0, 2] });
    expect(() => verify(m.graph)).not.toThrow();
    expect(() => runPasses(m, ['dce'], { verifyEach: true })).toThrow(/pass dce: .*inner dims differ/);
  });

  it('checks nodes: operands of different dtypes, a permutation that is not one', () => {
    const b = new Builder();
    const x = b.input('x', [2, 3]);
    const h = b.input('h', [2, 3], dtypeFromName('float16')!);
    const t = b.op('Transpose', [x], { attrs: { perm: { type: 'ints', value: [0, 0] } } }).outputs[0]!;
    b.output(t, b.op('Add', [x, h]).outputs[0]!);
    const g = b.graph;
    const m = new Model(g, 8, new Map([['', 17]]));
    expect(() => verify(g)).not.toThrow();
    const problems = verifyProblems(g, { checkNode: nodeChecks(m) }).map((p) => p.message);
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(/Add operands of different dtypes \(float32, float16\)/), expect.stringMatching(/perm \[0,0\] is not a permutation/)]));
    const ok = valid();
    expect(verifyProblems(ok.graph, { checkNode: nodeChecks(ok) })).toEqual([]);
  });
});

describe('module-contracts', () => {
  /** temb -> silu inside blocks.0, read by blocks.0's and blocks.1's projections (torch shares it); `inner` feeds the silu from inside blocks.0. */
  function shared(inner = false) {
    const b = new Builder();
    const temb = b.input('temb', [2, 4]);
    const src = inner ? b.op('Neg', [temb], { name: '/blocks.0/Neg' }).outputs[0]! : temb;
    const silu = b.op('Mul', [src, b.op('Sigmoid', [src], { name: '/blocks.0/Sigmoid' }).outputs[0]!], { name: '/blocks.0/Mul' }).outputs[0]!;
    const w = b.constant('w', [1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
    const proj = (i: number) => b.op('MatMul', [silu, w], { name: `/blocks.${i}/proj/MatMul` }).outputs[0]!;
    b.output(proj(0), proj(1));
    return model(b);
  }

  it("gives each other instance its own copy in its scope; the first keeps the original; idempotent", () => {
    const m = shared();
    runPasses(m, ['fuse-activations'], { verifyEach: true });
    const [rec] = runPasses(m, ['module-contracts'], { verifyEach: true });
    expect(rec!.stats).toEqual({ shared_values_copied: 1 });
    const silus = m.graph.nodes.filter((n) => n.op === 'mint.nn.functional.silu');
    expect(silus.map((n) => n.name)).toEqual(['/blocks.0/silu', '/blocks/1/silu']);
    const readers = (n: typeof silus[0]) => n.outputs[0]!.uses.map((u) => u.node.name);
    expect(silus.map(readers)).toEqual([['/blocks.0/proj/MatMul'], ['/blocks.1/proj/MatMul']]);
    idempotent(m, ['module-contracts']);
  });

  it('leaves a value the instance computed from its own work (a real output of that module)', () => {
    const m = shared(true);
    runPasses(m, ['fuse-activations'], { verifyEach: true });
    expect(runPasses(m, ['module-contracts'])[0]!.modified).toBe(false);
  });
});

describe('free-dims', () => {
  /** x[1, 8, 4, 4] -> flatten the spatial dims -> split the channels in 2 heads -> back, every target fixed at export. */
  function fixedExport(): Model {
    const b = new Builder();
    const x = b.input('x', [1, 8, 4, 4]);
    const flat = b.op('Reshape', [x, ints(b, 't1', [1, 8, 16])]).outputs[0]!;
    const t = b.op('Transpose', [flat], { attrs: { perm: { type: 'ints', value: [0, 2, 1] } } }).outputs[0]!;
    const heads = b.op('Reshape', [t, ints(b, 't2', [1, 16, 2, 4])]).outputs[0]!;
    const back = b.op('Reshape', [heads, ints(b, 't3', [1, 4, 4, 8])]).outputs[0]!;
    b.output(back);
    const m = model(b);
    for (const n of m.graph) for (const o of n.outputs) if (o) o.type = null;
    return m;
  }

  it('frees the batch and spatial input dims and re-derives the Reshape targets the export fixed from them', () => {
    const m = fixedExport();
    const [r] = runPasses(m, ['free-dims', 'dce'], { verifyEach: true });
    expect(r!.stats).toMatchObject({ freed: 3, fixed: 0 });
    expect(m.graph.inputs[0]!.type).toMatchObject({ shape: ['batch', 8, 'height', 'width'] });
    expect(m.graph.outputs[0]!.type).toMatchObject({ shape: ['batch', 'height', 'width', 8] });
    // No Reshape keeps a literal target.
    expect(m.graph.nodes.filter((n) => n.op === 'mint.reshape' && n.attrs.has('shape'))).toEqual([]);
    const again = runPasses(m, ['free-dims']);
    expect(again[0]!.modified).toBe(false);
  });

  it('reports a size a parameter pins, and a Reshape it cannot align', () => {
    const b = new Builder();
    const x = b.input('x', [1, 6, 4]);
    const pos = b.constant('pos_embedding', new Array(24).fill(0.5), [1, 6, 4]);
    const y = b.input('y', [1, 6, 4]);
    b.output(b.op('Add', [x, pos]).outputs[0]!, b.op('Reshape', [y, ints(b, 't', [1, 4, 6])]).outputs[0]!);
    const m = model(b);
    const [r] = runPasses(m, ['free-dims']);
    const report = r!.report as { pinned: { dim: string; size: number; by: string }[]; fixed: { reason: string }[] };
    expect(report.pinned).toEqual([{ dim: 'seq', size: 6, by: 'pos_embedding [1, 6, 4]' }]);
    // y's [batch, seq, 4] as [1, 4, 6] mixes the sequence with the features: it stays as exported.
    expect(report.fixed.map((f) => f.reason).join()).toMatch(/mixes several input dims/);
  });
});

describe('inference between passes', () => {
  const build = () => {
    const b = new Builder();
    const x = b.input('x', [2, 3]);
    const two = b.constant('two', [2], []);
    const four = b.op('Add', [two, two]).outputs[0]!;
    b.output(b.op('Sigmoid', [b.op('Mul', [x, four]).outputs[0]!]).outputs[0]!);
    return model(b);
  };

  it('runs once for passes that change nothing, again after one that does, and gives the same graph', () => {
    const quiet = ['fuse-group-norm', 'fuse-rms-norm', 'remove-noops', 'fuse-activations', 'fold-constants'];
    const m = build();
    const cache = new InferenceCache(m);
    const recs = runPasses(m, quiet.slice(0, 4), { inference: cache });
    expect(recs.every((r) => !r.modified)).toBe(true);
    expect(cache.runs).toBe(1);
    // fold-constants folds 2 + 2 and reports it: the next pass that reads inference runs it again.
    runPasses(m, ['fold-constants', 'remove-noops', 'fuse-activations'], { inference: cache });
    expect(cache.runs).toBe(2);
    const fresh = build();
    runPasses(fresh, quiet, { verifyEach: true });
    expect(printGraph(m.graph)).toBe(printGraph(fresh.graph));
  });
});

describe('half-precision', () => {
  it('casts a weight read through an Identity (a shared weight) instead of retyping the Identity', () => {
    const b = new Builder();
    const x = b.input('x', [2, 4]);
    const w = b.constant('proj.weight', Array.from({ length: 16 }, (_, i) => i / 16), [4, 4]);
    const shared = b.op('Identity', [w]).outputs[0]!;
    const y = b.op('MatMul', [x, shared]).outputs[0]!;
    b.output(b.op('MatMul', [y, b.constant('head.weight', Array.from({ length: 8 }, (_, i) => i / 8), [4, 2])]).outputs[0]!);
    const m = model(b);
    inferShapes(m);
    const [r] = runPasses(m, ['half-precision'], { dtype: 'float16', verifyEach: true });
    expect(r!.stats.half_weights).toBe(1);
    const head = m.graph.initializers.find((v) => v.name === 'head.weight')!;
    expect(head.const!.dtype.name).toBe('float16');
    expect(Array.from(head.const!.toArray() as Uint16Array).slice(0, 3)).toEqual([0, 0x3000, 0x3400]);
    // The Identity keeps its float32 weight; its output is cast where the half matmul reads it.
    const id = m.graph.nodes.find((n) => n.op === 'msgraph.identity')!;
    expect((id.outputs[0]!.type as { dtype: { name: string } }).dtype.name).toBe('float32');
    expect(id.outputs[0]!.uses.map((u) => u.node.op)).toEqual(['ops.cast']);
  });
});

describe('the pass contract under verifyEach', () => {
  it('holds a pass that reports no change to it (inference is reused after such a pass)', () => {
    const b = new Builder();
    const x = b.input('x', [2, 3]);
    b.output(b.op('Sigmoid', [b.op('Tanh', [x]).outputs[0]!]).outputs[0]!);
    const m = model(b);
    const sneaky: Pass = {
      name: 'sneaky',
      description: 'renames a node and says nothing',
      run(mm) {
        mm.graph.nodes[0]!.name = 'renamed';
        return { modified: false, stats: {} };
      },
    };
    const registry = new Map([['sneaky', sneaky]]);
    expect(() => runPasses(m, ['sneaky'], { verifyEach: true, registry })).toThrow(/pass sneaky: reported no change but changed the graph/);
    // Reporting the change is fine.
    const honest: Pass = { ...sneaky, run(mm) { mm.graph.nodes[0]!.name = 'again'; return { modified: true, stats: {} }; } };
    expect(() => runPasses(m, ['honest'], { verifyEach: true, registry: new Map([['honest', honest]]) })).not.toThrow();
  });
});
