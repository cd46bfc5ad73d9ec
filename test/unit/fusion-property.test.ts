/**
 * Every fusion and fold over randomly bent copies of the forms they match: a reader added to an inner value, a
 * constant changed, an element-wise op swapped for another, operands of a non-commutative op exchanged, an axis
 * moved. Whatever fuses or not, each pass that reports no change leaves the printed graph as it was (no pass edits
 * during a failed match), the graph verifies and re-infers after every pass, and onnxruntime computes from the
 * result what it computes from the bent graph before the passes.
 */
import { describe, expect, it } from 'vitest';
import { Model } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';
import { Value } from '../../src/ir/value.js';
import type { Node } from '../../src/ir/node.js';
import { toMint } from '../../src/dialect/to-mint.js';
import { lowerToOnnx } from '../../src/dialect/lower.js';
import { inferShapes } from '../../src/dialect/ops/infer.js';
import { nodeChecks } from '../../src/dialect/check.js';
import { verify } from '../../src/ir/verify.js';
import { printGraph } from '../../src/ir/print.js';
import { dtypeFromName } from '../../src/ir/dtype.js';
import { runPasses } from '../../src/passes/manager.js';
import { DEFAULT_PIPELINE } from '../../src/passes/registry.js';
import { lowerFusedForOrt } from '../../src/backends/ort/lower-fused.js';
import { concatChunks, encodeModelBytes } from '../../src/frontend/onnx/index.js';
import { randomInputs, rng, runOnnx } from '../helpers/ort.js';
import { relError } from '../helpers/standin.js';
import { Builder, i64 } from '../helpers/builder.js';

const OPSET = 21;
/** The onnx target's pipeline with GroupNorm (lowered to GroupNormalization-21); GEGLU has no onnxruntime kernel. */
const PASSES = [...DEFAULT_PIPELINE.slice(0, 7), 'fuse-group-norm', ...DEFAULT_PIPELINE.slice(7)];

const ints = (b: Builder, name: string, vals: number[]) => b.graph.addConstant(name, Tensor.fromArray(i64, [vals.length], BigInt64Array.from(vals.map(BigInt)), name));
const attr = {
  perm: (value: number[]) => ({ perm: { type: 'ints' as const, value } }),
  axes: (value: number[]) => ({ axes: { type: 'ints' as const, value }, keepdims: { type: 'int' as const, value: 1 } }),
  last: { axis: { type: 'int' as const, value: -1 } },
};

/** The forms, as ONNX graphs. */
const FORMS: Record<string, (b: Builder) => void> = {
  attention(b) {
    const [q, k, v] = ['q', 'k', 'v'].map((n) => b.input(n, [2, 4, 8, 16]));
    const s = b.op('Mul', [b.op('MatMul', [q!, b.op('Transpose', [k!], { attrs: attr.perm([0, 1, 3, 2]) }).outputs[0]!]).outputs[0]!, b.constant('s', [0.25], [])]).outputs[0]!;
    const p = b.op('Softmax', [b.op('Add', [s, b.input('mask', [2, 1, 1, 8])]).outputs[0]!], { attrs: attr.last }).outputs[0]!;
    b.output(b.op('MatMul', [p, v!]).outputs[0]!);
  },
  mha(b) {
    const x = b.input('x', [2, 8, 16]);
    const heads = (t: Value, p: number[]) => b.op('Transpose', [b.op('Reshape', [t, ints(b, `s${p.join('')}${t.name}`, [2, 8, 4, 4])]).outputs[0]!], { attrs: attr.perm(p) }).outputs[0]!;
    const proj = (n: string) => b.op('Mul', [x, b.constant(n, [0.5 + n.length / 10], [])]).outputs[0]!;
    const [q, k, v] = [heads(proj('wq'), [0, 2, 1, 3]), heads(proj('wkk'), [0, 2, 3, 1]), heads(proj('wvvv'), [0, 2, 1, 3])];
    const p = b.op('Softmax', [b.op('Div', [b.op('MatMul', [q, k]).outputs[0]!, b.constant('d', [2], [])]).outputs[0]!], { attrs: attr.last }).outputs[0]!;
    const o = b.op('Transpose', [b.op('MatMul', [p, v]).outputs[0]!], { attrs: attr.perm([0, 2, 1, 3]) }).outputs[0]!;
    b.output(b.op('Reshape', [o, ints(b, 'merge', [2, 8, 16])]).outputs[0]!);
  },
  layerNorm(b) {
    const x = b.input('x', [2, 5, 8]);
    const d = b.op('Sub', [x, b.op('ReduceMean', [x], { attrs: attr.axes([-1]) }).outputs[0]!]).outputs[0]!;
    const variance = b.op('ReduceMean', [b.op('Pow', [d, b.constant('two', [2], [])]).outputs[0]!], { attrs: attr.axes([-1]) }).outputs[0]!;
    const y = b.op('Div', [d, b.op('Sqrt', [b.op('Add', [variance, b.constant('eps', [1e-5], [])]).outputs[0]!]).outputs[0]!]).outputs[0]!;
    b.output(b.op('Add', [b.op('Mul', [y, b.constant('gamma', [1, 2, 3, 4, 5, 6, 7, 8])]).outputs[0]!, b.constant('beta', [8, 7, 6, 5, 4, 3, 2, 1])]).outputs[0]!);
  },
  rmsNorm(b) {
    const x = b.input('x', [2, 5, 8]);
    const mean = b.op('ReduceMean', [b.op('Mul', [x, x]).outputs[0]!], { attrs: attr.axes([-1]) }).outputs[0]!;
    const r = b.op('Div', [b.constant('one', [1], []), b.op('Sqrt', [b.op('Add', [mean, b.constant('eps', [1e-6], [])]).outputs[0]!]).outputs[0]!]).outputs[0]!;
    b.output(b.op('Mul', [b.op('Mul', [x, r]).outputs[0]!, b.constant('w', [1, 2, 3, 4, 5, 6, 7, 8])]).outputs[0]!);
  },
  groupNorm(b) {
    const x = b.input('x', [2, 4, 3, 3]);
    const n = b.op('InstanceNormalization', [b.op('Reshape', [x, ints(b, 'g', [2, 2, -1])]).outputs[0]!, b.constant('ones', [1, 1]), b.constant('zeros', [0, 0])]).outputs[0]!;
    const back = b.op('Reshape', [n, ints(b, 'back', [2, 4, 3, 3])]).outputs[0]!;
    b.output(b.op('Add', [b.op('Mul', [back, b.constant('w', [1, 2, 3, 4], [4, 1, 1])]).outputs[0]!, b.constant('bias', [4, 3, 2, 1], [4, 1, 1])]).outputs[0]!);
  },
  activations(b) {
    const x = b.input('x', [2, 3, 8]);
    const c = (n: string, v: number) => b.constant(n, [v], []);
    const erf = b.op('Add', [b.op('Erf', [b.op('Div', [x, c('r2', Math.SQRT2)]).outputs[0]!]).outputs[0]!, c('one', 1)]).outputs[0]!;
    const gelu = b.op('Mul', [b.op('Mul', [x, erf]).outputs[0]!, c('half', 0.5)]).outputs[0]!;
    const silu = b.op('Mul', [gelu, b.op('Sigmoid', [gelu]).outputs[0]!]).outputs[0]!;
    const relu6 = b.op('Clip', [b.op('Add', [silu, c('three', 3)]).outputs[0]!, c('lo', 0), c('hi', 6)]).outputs[0]!;
    b.output(b.op('Div', [b.op('Mul', [silu, relu6]).outputs[0]!, c('six', 6)]).outputs[0]!);
  },
  convFolds(b) {
    const x = b.input('x', [1, 2, 5, 5]);
    const pads = ints(b, 'pads', [0, 0, 1, 1, 0, 0, 1, 1]);
    const conv = b.op('Conv', [b.op('Pad', [x, pads]).outputs[0]!, b.constant('cw', Array.from({ length: 36 }, (_, i) => (i % 7) / 7 - 0.4), [2, 2, 3, 3])]).outputs[0]!;
    const stats = (n: string, v: number[]) => b.constant(n, v);
    b.output(b.op('BatchNormalization', [conv, stats('bg', [1.5, 0.5]), stats('bb', [0.1, -0.2]), stats('bm', [0.3, 0.1]), stats('bv', [2, 0.5])]).outputs[0]!);
  },
};

function build(form: string): Model {
  const b = new Builder();
  FORMS[form]!(b);
  const m = new Model(b.graph, 10, new Map([['', 17]]));
  toMint(m);
  inferShapes(m);
  return m;
}

/** Bends `m` once, deterministically from `r`; returns what it did. */
function bend(m: Model, r: () => number): string {
  const g = m.graph;
  const pick = <T>(xs: T[]): T | undefined => xs[Math.floor(r() * xs.length)];
  const nodes = [...g];
  const kind = Math.floor(r() * 5);
  if (kind === 0) {
    const v = pick(nodes.flatMap((n) => n.outputs).filter((o): o is Value => !!o && !g.outputs.includes(o)));
    if (v) g.outputs.push(v);
    return `reader on ${v?.name}`;
  }
  if (kind === 1) {
    const uses = nodes.flatMap((n) => n.inputs.map((v, i) => [n, i, v] as const)).filter(([, , v]) => v?.const && v.const.size === 1 && v.const.dtype.kind === 'float');
    const u = pick(uses);
    if (!u) return 'no constant';
    const t = u[2]!.const!;
    const c = g.addConstant(`${u[2]!.name}_bent`, Tensor.fromArray(t.dtype, [...t.dims], new Float32Array([Number(new Float32Array(t.bytes.buffer.slice(t.bytes.byteOffset, t.bytes.byteOffset + 4))[0]) * 1.5 + 0.1]), `${u[2]!.name}_bent`));
    c.type = u[2]!.type;
    u[0].replaceInput(u[1], c);
    return `constant ${u[2]!.name}`;
  }
  const SWAP: Record<string, string> = { 'mint.add': 'mint.sub', 'mint.sub': 'mint.add', 'mint.mul': 'mint.div', 'mint.div': 'mint.mul' };
  if (kind === 2) {
    const n = pick(nodes.filter((x) => SWAP[x.op]));
    if (n) (n as { op: string }).op = SWAP[n.op]!;
    return `op of ${n?.name}`;
  }
  if (kind === 3) {
    const n = pick(nodes.filter((x) => (x.op === 'mint.sub' || x.op === 'mint.div' || x.op === 'mint.matmul') && x.inputs[0] && x.inputs[1]));
    if (n) {
      const [a, c] = [n.inputs[0]!, n.inputs[1]!];
      n.replaceInput(0, c);
      n.replaceInput(1, a);
    }
    return `operands of ${n?.name}`;
  }
  const n = pick(nodes.filter((x: Node) => x.attrs.has('axis') || x.attrs.get('axes')?.type === 'ints'));
  if (n?.attrs.has('axis')) n.setAttr('axis', { type: 'int', value: Number(n.attrs.get('axis')!.value) === -1 ? 1 : -1 });
  else if (n) n.setAttr('axes', { type: 'ints', value: [1] });
  return `axis of ${n?.name}`;
}

const onnx = (m: Model) => {
  lowerToOnnx(m, { opset: OPSET });
  return concatChunks(encodeModelBytes(m).chunks);
};

describe('fusions over bent forms', () => {
  for (const form of Object.keys(FORMS)) {
    it(`${form}: no edit without a change, verify and re-inference after each pass, outputs as before`, async () => {
      let checked = 0;
      for (let seed = 1; seed <= 12; seed++) {
        // Two copies bent alike: one runs the passes, the other is the reference.
        const [m, ref] = [build(form), build(form)];
        const what = [bend(m, rng(seed)), bend(m, rng(seed * 7919))];
        [bend(ref, rng(seed)), bend(ref, rng(seed * 7919))];
        try {
          inferShapes(m);
          verify(m.graph, { checkNode: nodeChecks(m) });
        } catch {
          continue; // a bend that makes the graph invalid (an axis out of range, shapes that no longer broadcast)
        }
        for (const pass of PASSES) {
          const before = printGraph(m.graph);
          const [rec] = runPasses(m, [pass], { verifyEach: true });
          if (!rec!.modified) expect(printGraph(m.graph), `${form} ${what.join(', ')}: ${pass} reported no change`).toBe(before);
        }
        m.irVersion = ref.irVersion = 10;
        lowerFusedForOrt(m, 'cpu');
        const feeds = randomInputs(ref, seed);
        const [want, got] = [await runOnnx(onnx(ref), feeds), await runOnnx(onnx(m), feeds)];
        for (const [name, w] of want) {
          const o = got.get(name)!;
          expect(o, `${form} ${what.join(', ')}: output ${name}`).toBeDefined();
          const err = relError(w, Tensor.fromBytes(dtypeFromName(o.dtype)!, o.dims, o.bytes));
          expect(err, `${form} ${what.join(', ')}: output ${name}`).toBeLessThanOrEqual(1e-4);
        }
        checked++;
      }
      expect(checked, 'bent graphs that stayed valid').toBeGreaterThanOrEqual(4);
    });
  }
});
