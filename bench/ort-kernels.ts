/**
 * The kernel choices behind the ONNX Runtime capability table's `avoid` list and the GroupNorm decision, measured
 * in one run against each other (one session alive at a time, ORT's optimisations on):
 * - 24 residual blocks Add -> LayerNormalization on [1, 128, 768]: as exported (onnxruntime forms
 *   SkipLayerNormalization) vs as msgraph compiles it for the EP (the guard keeps Add + LayerNormalization);
 * - GroupNorm(32 groups) on [1, 256, 32, 32]: torch's InstanceNormalization form vs GroupNormalization-21;
 * - the int8 matmul forms `--precision int8` could emit, on four BERT-base FFN matmuls ([1, 128, 768] x [768, 3072]
 *   and back): com.microsoft.DynamicQuantizeMatMul (what it emits) vs DynamicQuantizeLinear +
 *   com.microsoft.MatMulIntegerToFloat vs DynamicQuantizeLinear + MatMulInteger + Cast + Mul;
 * - where int8 pays: four float32 MatMuls [1, rows, W] x [W, W] vs DynamicQuantizeMatMul (`--precision int8`
 *   leaves matrix-vector products, fewer than MIN_INT8_ROWS rows, in float32);
 * - int8 convolutions, which `--precision int8` does not emit: a 3x3 Conv 64 -> 64 on [1, 64, 56, 56] in float32 vs
 *   DynamicQuantizeLinear + ConvInteger + Cast + Mul (per-tensor int8 weight), onnxruntime's dynamic form.
 *
 *   node dist/bench/ort-kernels.js [--runs N] [--ep cpu,wasm]
 */
import { Graph } from '../src/ir/graph.js';
import { Model } from '../src/ir/model.js';
import { Node } from '../src/ir/node.js';
import { Tensor } from '../src/ir/tensor.js';
import { Value } from '../src/ir/value.js';
import { dtypeFromName } from '../src/ir/dtype.js';
import { tensorType } from '../src/ir/shape.js';
import type { Attribute } from '../src/ir/attribute.js';
import { concatChunks, encodeModelBytes } from '../src/frontend/onnx/index.js';
import { compileForOrt } from '../src/backends/ort/compile.js';
import { benchModels } from '../src/backends/ort/bench.js';
import { randomInputs } from '../src/backends/ort/inputs.js';
import type { Ep } from '../src/backends/ort/session.js';

const F32 = dtypeFromName('float32')!;
const I64 = dtypeFromName('int64')!;
const I8 = dtypeFromName('int8')!;
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const runs = Number(arg('--runs', '30'));
const eps = arg('--ep', 'cpu,wasm').split(',') as Ep[];

class G {
  readonly g = new Graph('bench');
  private k = 0;
  input(name: string, shape: number[]): Value {
    return this.g.addInput(new Value(name, tensorType(F32, shape)));
  }
  const(values: ArrayLike<number>, dims: number[], dtype = F32): Value {
    const name = `c${this.k++}`;
    const data = dtype === I64 ? BigInt64Array.from(Array.from(values, (v) => BigInt(v))) : Float32Array.from(values);
    return this.g.addConstant(name, Tensor.fromArray(dtype, dims, data, name));
  }
  int8(values: Int8Array, dims: number[]): Value {
    const name = `c${this.k++}`;
    return this.g.addConstant(name, Tensor.fromArray(I8, dims, values, name));
  }
  op(op: string, inputs: (Value | null)[], attrs: Record<string, Attribute> = {}, domain = ''): Value {
    return this.ops(op, inputs, 1, attrs, domain)[0]!;
  }
  ops(op: string, inputs: (Value | null)[], outputs: number, attrs: Record<string, Attribute> = {}, domain = ''): Value[] {
    const n = new Node({ op, domain, inputs, outputs, name: `${op}_${this.k++}`, attrs: Object.entries(attrs) });
    n.outputs.forEach((o, i) => (o!.name = `${n.name}_out${i}`));
    this.g.append(n);
    return n.outputs as Value[];
  }
  model(out: Value, opset: number): Model {
    this.g.outputs.push(out);
    return new Model(this.g, 8, new Map([['', opset], ['com.microsoft', 1]]));
  }
}

function residualLayerNorms(): Model {
  const b = new G();
  const d = 768;
  let x = b.input('x', [1, 128, d]);
  const r = b.input('r', [1, 128, d]);
  const gamma = b.const(new Float32Array(d).fill(1), [d]);
  const beta = b.const(new Float32Array(d), [d]);
  for (let i = 0; i < 24; i++) x = b.op('LayerNormalization', [b.op('Add', [x, r]), gamma, beta], { axis: { type: 'int', value: -1 }, epsilon: { type: 'float', value: 1e-12 } });
  return b.model(x, 17);
}

function groupNorm(form: 'instance' | 'group'): Model {
  const b = new G();
  const [c, groups] = [256, 32];
  const x = b.input('x', [1, c, 32, 32]);
  const scale = b.const(Array.from({ length: c }, (_, i) => 1 + i / c), [c]);
  const bias = b.const(Array.from({ length: c }, (_, i) => i / c), [c]);
  if (form === 'group') return b.model(b.op('GroupNormalization', [x, scale, bias], { num_groups: { type: 'int', value: groups }, epsilon: { type: 'float', value: 1e-6 } }), 21);
  const grouped = b.op('Reshape', [x, b.const([1, groups, -1], [3], I64)]);
  const norm = b.op('InstanceNormalization', [grouped, b.const(new Float32Array(groups).fill(1), [groups]), b.const(new Float32Array(groups), [groups])], { epsilon: { type: 'float', value: 1e-6 } });
  const back = b.op('Reshape', [norm, b.const([1, c, 32, 32], [4], I64)]);
  return b.model(b.op('Add', [b.op('Mul', [back, b.const(Array.from({ length: c }, (_, i) => 1 + i / c), [c, 1, 1])]), b.const(Array.from({ length: c }, (_, i) => i / c), [c, 1, 1])]), 21);
}

/** Four FFN matmuls of BERT-base (768 -> 3072 -> 768 -> 3072 -> 768) with int8 weights, in one of three forms. */
function int8Matmuls(form: 'dynamic' | 'integer-to-float' | 'integer'): Model {
  const b = new G();
  let x = b.input('x', [1, 128, 768]);
  const sizes = [768, 3072, 768, 3072, 768];
  let seed = 1;
  for (let i = 0; i < 4; i++) {
    const [k, n] = [sizes[i]!, sizes[i + 1]!];
    const w = b.int8(Int8Array.from({ length: k * n }, () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 255) - 127), [k, n]);
    const scale = b.const(new Float32Array(n).fill(1 / (127 * Math.sqrt(k))), [n]);
    if (form === 'dynamic') {
      x = b.op('DynamicQuantizeMatMul', [x, w, scale], {}, 'com.microsoft');
      continue;
    }
    const [q, qScale, qZero] = b.ops('DynamicQuantizeLinear', [x], 3);
    if (form === 'integer-to-float') {
      x = b.op('MatMulIntegerToFloat', [q!, w, qScale!, scale, qZero!], {}, 'com.microsoft');
      continue;
    }
    const acc = b.op('MatMulInteger', [q!, w, qZero!]);
    x = b.op('Mul', [b.op('Cast', [acc], { to: { type: 'int', value: F32.onnx } }), b.op('Mul', [qScale!, scale])]);
  }
  return b.model(x, 17);
}

/** Four [1, rows, W] x [W, W] matmuls, float32 or int8. */
function squareMatmuls(w: number, int8: boolean, rows = 256): Model {
  const b = new G();
  let x = b.input('x', [1, rows, w]);
  for (let i = 0; i < 4; i++) {
    if (!int8) x = b.op('MatMul', [x, b.const(Float32Array.from({ length: w * w }, (_, j) => ((j * 7919) % 201 - 100) / (100 * w)), [w, w])]);
    else x = b.op('DynamicQuantizeMatMul', [x, b.int8(Int8Array.from({ length: w * w }, (_, j) => ((j * 7919) % 255) - 127), [w, w]), b.const(new Float32Array(w).fill(1 / (127 * w)), [w])], {}, 'com.microsoft');
  }
  return b.model(x, 17);
}

/** Four 3x3 convolutions 64 -> 64 on [1, 64, 56, 56], float32 or dynamically quantized (ConvInteger). */
function convs(int8: boolean): Model {
  const b = new G();
  let x = b.input('x', [1, 64, 56, 56]);
  const n = 64 * 64 * 9;
  const pads: Record<string, Attribute> = { pads: { type: 'ints', value: [1, 1, 1, 1] } };
  for (let i = 0; i < 4; i++) {
    if (!int8) {
      x = b.op('Conv', [x, b.const(Float32Array.from({ length: n }, (_, j) => ((j * 7919) % 201 - 100) / 5000), [64, 64, 3, 3])], pads);
      continue;
    }
    const [q, qScale, qZero] = b.ops('DynamicQuantizeLinear', [x], 3);
    const w = b.int8(Int8Array.from({ length: n }, (_, j) => ((j * 7919) % 255) - 127), [64, 64, 3, 3]);
    const acc = b.op('ConvInteger', [q!, w, qZero!], pads);
    x = b.op('Mul', [b.op('Cast', [acc], { to: { type: 'int', value: F32.onnx } }), b.op('Mul', [qScale!, b.const([1 / 5000], [])])]);
  }
  return b.model(x, 17);
}

const bytes = (m: Model) => concatChunks(encodeModelBytes(m).chunks);
const row = (what: string, ep: string, r: { original: { median_ms: number }; compiled: { median_ms: number }; speedup: number }) =>
  console.log(`${what.padEnd(56)} ${ep.padEnd(6)} ${r.original.median_ms.toFixed(3).padStart(11)}   ${r.compiled.median_ms.toFixed(3).padStart(12)}   ${r.speedup.toFixed(2).padStart(16)}x`);
console.log(`${'case: baseline vs candidate'.padEnd(56)} ep     baseline ms   candidate ms   candidate speedup`);
for (const ep of eps) {
  const exported = residualLayerNorms();
  const guarded = compileForOrt(residualLayerNorms(), { ep, shapes: { x: [1, 128, 768], r: [1, 128, 768] } }).model;
  const a = await benchModels(bytes(exported), bytes(guarded), randomInputs(exported, 1), { ep, runs, warmup: 5 });
  row('Add+LayerNorm x24: as exported vs compiled for the EP', ep, a);
  const inst = groupNorm('instance');
  const b = await benchModels(bytes(inst), bytes(groupNorm('group')), randomInputs(inst, 1), { ep, runs, warmup: 5 });
  row('GroupNorm: InstanceNorm form vs GroupNormalization-21', ep, b);
  const dyn = int8Matmuls('dynamic');
  for (const form of ['integer-to-float', 'integer'] as const) {
    const c = await benchModels(bytes(dyn), bytes(int8Matmuls(form)), randomInputs(dyn, 1), { ep, runs, warmup: 5 });
    row(`int8 FFN x4: DynamicQuantizeMatMul vs ${form === 'integer' ? 'MatMulInteger+Mul' : 'MatMulIntegerToFloat'}`, ep, c);
  }
  const fc = convs(false);
  row('Conv 3x3 64->64 x4: float32 vs int8 (ConvInteger)', ep, await benchModels(bytes(fc), bytes(convs(true)), randomInputs(fc, 1), { ep, runs, warmup: 5 }));
  for (const [rows, w] of [[256, 32], [256, 64], [256, 128], [256, 256], [256, 512], [1, 64], [1, 256], [1, 1024], [16, 64]] as const) {
    const f = squareMatmuls(w, false, rows);
    const d = await benchModels(bytes(f), bytes(squareMatmuls(w, true, rows)), randomInputs(f, 1), { ep, runs, warmup: 5 });
    row(`MatMul x4 [${rows},${w}]x[${w},${w}]: float32 vs int8`, ep, d);
  }
}
