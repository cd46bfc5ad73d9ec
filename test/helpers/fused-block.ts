/** A small model holding every decomposed form the activation and norm fusions rewrite, for lowering tests. */
import { Model } from '../../src/ir/model.js';
import type { Value } from '../../src/ir/value.js';
import { concatChunks, encodeModelBytes } from '../../src/frontend/onnx/index.js';
import { Builder } from './builder.js';

/**
 * x -> GELU(erf) -> GELU(tanh) -> SiLU -> (+ residual r) -> decomposed LayerNorm, on [2, 5, 16]; with `more`, then
 * RMSNorm and HardSwish (x * clamp(x + 3, 0, 6) / 6).
 */
export function fusedBlock(opset: number, more = false): Uint8Array {
  const b = new Builder();
  const x = b.input('x', [2, 5, 16]);
  const r = b.input('r', [2, 5, 16]);
  const c = (name: string, v: number) => b.constant(name, [v], []);
  const op = (o: string, ins: Value[], attrs?: Parameters<Builder['op']>[2]) => b.op(o, ins, attrs).outputs[0]!;
  // GELU, erf form: x * 0.5 * (1 + erf(x / sqrt 2)).
  const g1 = op('Mul', [op('Mul', [x, op('Add', [op('Erf', [op('Div', [x, c('sqrt2', Math.SQRT2)])]), c('one', 1)])]), c('half', 0.5)]);
  // GELU, tanh form.
  const inner = op('Add', [g1, op('Mul', [c('k', 0.044715), op('Pow', [g1, c('three', 3)])])]);
  const g2 = op('Mul', [op('Mul', [c('half2', 0.5), g1]), op('Add', [c('one2', 1), op('Tanh', [op('Mul', [c('s2pi', Math.sqrt(2 / Math.PI)), inner])])])]);
  const s = op('Mul', [g2, op('Sigmoid', [g2])]);
  const h = op('Add', [s, r]);
  const axes = { attrs: { axes: { type: 'ints' as const, value: [-1] } } };
  const mean = op('ReduceMean', [h], axes);
  const d = op('Sub', [h, mean]);
  const v = op('ReduceMean', [op('Pow', [d, c('two', 2)])], axes);
  const n = op('Div', [d, op('Sqrt', [op('Add', [v, c('eps', 1e-5)])])]);
  const gamma = b.constant('gamma', Array.from({ length: 16 }, (_, i) => 1 + i / 16));
  const beta = b.constant('beta', Array.from({ length: 16 }, (_, i) => i / 32));
  let y = op('Add', [op('Mul', [n, gamma]), beta]);
  if (more) {
    const ms = op('ReduceMean', [op('Pow', [y, c('two_b', 2)])], axes);
    const rms = op('Mul', [op('Mul', [y, op('Reciprocal', [op('Sqrt', [op('Add', [ms, c('eps_b', 1e-6)])])])]), b.constant('w', Array.from({ length: 16 }, (_, i) => 1 - i / 40))]);
    const relu6 = op('Clip', [op('Add', [rms, c('three_b', 3)]), c('lo', 0), c('hi', 6)]);
    y = op('Div', [op('Mul', [rms, relu6]), c('six', 6)]);
  }
  b.output(y);
  return concatChunks(encodeModelBytes(new Model(b.graph, 8, new Map([['', opset]]))).chunks);
}
