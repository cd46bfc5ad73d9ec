/** Every op table entry names MindSpore APIs that exist in each supported version. */
import { describe, expect, it } from 'vitest';
import { ALL_OPS, lookupOp } from '../../src/dialect/ops/registry.js';
import type { MintRef } from '../../src/dialect/ops/types.js';
import { MINT_API } from '../../src/backends/mindspore/mint-api.js';
import { compareVersions as cmp } from '../../src/backends/mindspore/api.js';

const VERSIONS = ['2.5.0', '2.6.0', '2.7.0rc1'];

describe('op tables against MindSpore\'s API (mint-api.ts, generated from mint_api.json)', () => {
  const versionsOf = (name: string): string[] | null => MINT_API[name]?.versions ?? null;
  const apisOf = (r: MintRef) => ('api' in r ? [r.api] : 'decompose' in r ? r.decompose : []);
  const sinceOf = (r: MintRef) => ('expr' in r ? undefined : r.since);

  it('every referenced API exists in every version from its `since` on', () => {
    const missing: string[] = [];
    for (const d of ALL_OPS) {
      for (const r of d.mint) {
        for (const name of apisOf(r)) {
          const vs = versionsOf(name);
          for (const v of VERSIONS) {
            const since = sinceOf(r);
            if (since && cmp(v, since) < 0) continue;
            if (!vs?.includes(v)) missing.push(`${d.op}@${d.since}: ${name} not in MindSpore ${v}`);
          }
        }
      }
    }
    expect(missing).toEqual([]);
  });

  for (const v of VERSIONS) {
    it(`every op has a usable mapping for each of its forms in MindSpore ${v}`, () => {
      const bad: string[] = [];
      for (const d of ALL_OPS) {
        const forms = new Set(d.mint.map((r) => r.when ?? ''));
        for (const form of forms) {
          const usable = d.mint.some((r) => (r.when ?? '') === form && (!sinceOf(r) || cmp(v, sinceOf(r)!) >= 0));
          // A form whose only API is newer may fall back to an unconditional alternative.
          const fallback = d.mint.some((r) => !r.when && (!sinceOf(r) || cmp(v, sinceOf(r)!) >= 0));
          if (!usable && !fallback) bad.push(`${d.op} (${form || 'all forms'})`);
        }
      }
      expect(bad).toEqual([]);
    });
  }
});

describe('op table lookup', () => {
  it('keys by opset range and covers opsets 7 to 21 for the ops PyTorch exports', () => {
    const ops = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Sqrt', 'Reciprocal', 'Exp', 'Log', 'Tanh', 'Sigmoid', 'Abs', 'Neg', 'Floor', 'Ceil',
      'Sin', 'Cos', 'Min', 'Max', 'Equal', 'Less', 'Greater', 'Not', 'And', 'Or', 'Xor', 'Clip', 'Relu', 'LeakyRelu', 'Elu',
      'Selu', 'PRelu', 'HardSigmoid', 'Softplus', 'MatMul', 'Gemm', 'Conv', 'ConvTranspose', 'MaxPool', 'AveragePool', 'GlobalAveragePool',
      'BatchNormalization', 'InstanceNormalization', 'Softmax', 'LogSoftmax', 'ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd',
      'ReduceL2', 'ReduceLogSumExp', 'ArgMax', 'ArgMin', 'TopK', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose', 'Concat', 'Split',
      'Slice', 'Gather', 'Tile', 'Pad', 'Shape', 'Size', 'Constant', 'Identity', 'Cast', 'DepthToSpace', 'SpaceToDepth', 'Dropout',
      'LSTM', 'GRU', 'RNN', 'If', 'Loop', 'LpPool'];
    const gaps: string[] = [];
    for (const op of ops) for (let v = 7; v <= 21; v++) if (!lookupOp('', op, v)) gaps.push(`${op}@${v}`);
    expect(gaps).toEqual([]);
    const later: [string, number][] = [['Erf', 9], ['Sign', 9], ['Where', 9], ['Expand', 8], ['Mod', 10], ['IsNaN', 9], ['IsInf', 10], ['Range', 11], ['NonZero', 9], ['Trilu', 14], ['OneHot', 9],
      ['Einsum', 12], ['CumSum', 11], ['GatherElements', 11], ['GatherND', 11], ['ScatterND', 11], ['ScatterElements', 11], ['CastLike', 15],
      ['LayerNormalization', 17], ['GroupNormalization', 18], ['HardSwish', 14], ['Mish', 18], ['Gelu', 20], ['Celu', 12], ['ConstantOfShape', 9],
      ['LessOrEqual', 12], ['GreaterOrEqual', 12], ['Resize', 10]];
    for (const [op, from] of later) for (let v = from; v <= 21; v++) if (!lookupOp('', op, v)) gaps.push(`${op}@${v}`);
    expect(gaps).toEqual([]);
    for (let v = 7; v <= 9; v++) expect(lookupOp('', 'Upsample', v)).toBeDefined();
  });

  it('tells the forms of an op apart by opset', () => {
    expect(lookupOp('', 'Squeeze', 11)!.inputs).toEqual([1, 1]);
    expect(lookupOp('', 'Squeeze', 13)!.inputs).toEqual([1, 2]);
    expect(lookupOp('', 'ReduceMean', 17)!.inputs).toEqual([1, 1]);
    expect(lookupOp('', 'ReduceMean', 18)!.inputs).toEqual([1, 2]);
    expect(lookupOp('', 'Gelu', 19)).toBeUndefined();
    expect(lookupOp('com.example', 'Add', 17)).toBeUndefined();
  });
});
