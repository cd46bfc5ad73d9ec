/**
 * int8 plans for the ONNX Runtime target (`--precision int8`): every MatMul and Gemm whose weight is a constant
 * float32 matrix becomes com.microsoft.DynamicQuantizeMatMul. The weight is stored as int8 with one symmetric scale
 * per output column (zero point 0); the activation is quantized at run time by the kernel (uint8, per tensor).
 * Embedding tables (a Gather along axis 0 of a constant float32 matrix) are stored as int8 with one scale per row:
 * the rows are gathered in int8 and only they are scaled back to float32. Everything else (attention scores,
 * softmax, norms, convolutions, activations) stays float32. Runs on the lowered
 * ONNX graph, after the fusions, so the matmuls inside fused attention (which has no constant weight) are untouched.
 */
import { MsgraphError } from '../../errors.js';
import type { Graph } from '../../ir/graph.js';
import type { Model } from '../../ir/model.js';
import { Node } from '../../ir/node.js';
import { Tensor } from '../../ir/tensor.js';
import { Value } from '../../ir/value.js';
import { dtypeFromName } from '../../ir/dtype.js';
import { epSupports } from './capabilities.js';
import { nodesBefore, takeOver } from './build.js';
import type { Attribute } from '../../ir/attribute.js';
import { floatToHalf } from '../../ir/array.js';

export const PRECISIONS = ['fp32', 'int8', 'int4', 'fp16'] as const;
export type Precision = (typeof PRECISIONS)[number];

const F32 = dtypeFromName('float32')!;
const I8 = dtypeFromName('int8')!;
const QUANT_OP = 'DynamicQuantizeMatMul';
const NBITS_OP = 'MatMulNBits';
const U8 = dtypeFromName('uint8')!;

export function checkPrecision(p: string): Precision {
  if (!(PRECISIONS as readonly string[]).includes(p)) throw new MsgraphError('usage', `unknown precision ${JSON.stringify(p)}`, { hint: `one of ${PRECISIONS.join(', ')}` });
  return p as Precision;
}

export interface QuantizeReport {
  /** Matmuls now running on int8 (or int4) weights. */
  quantized: number;
  /** Embedding tables stored in int8. */
  embeddings: number;
  /** Matmuls with a constant weight kept in float32 by `keep` (node names). */
  kept: string[];
  /** Matrix-vector products left in float32 (fewer than MIN_INT8_ROWS activation rows, known from the shapes). */
  few_rows: number;
  /** Weight bytes before and after (the quantized matrices and their scales). */
  weight_bytes_fp32: number;
  weight_bytes_quantized: number;
}

/** `keep` entries match a node name or a weight name: exactly, or as a glob with `*`. */
export function matchesAny(names: string[], patterns: readonly string[]): boolean {
  return patterns.some((p) => {
    if (!p.includes('*')) return names.includes(p);
    const re = new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    return names.some((n) => re.test(n));
  });
}

/** int8 weight [K, N] and per-column scales from a float32 matrix laid out [K, N] (or [N, K] when `transposed`). */
export function quantizeColumns(w: Float32Array, k: number, n: number, transposed: boolean): { q: Int8Array; scale: Float32Array } {
  const at = transposed ? (i: number, j: number) => w[j * k + i]! : (i: number, j: number) => w[i * n + j]!;
  const scale = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    let m = 0;
    for (let i = 0; i < k; i++) m = Math.max(m, Math.abs(at(i, j)));
    scale[j] = m > 0 ? m / 127 : 1;
  }
  const q = new Int8Array(k * n);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < n; j++) q[i * n + j] = Math.max(-127, Math.min(127, Math.round(at(i, j) / scale[j]!)));
  }
  return { q, scale };
}

/**
 * Below this many activation rows a matmul stays float32: quantizing the activation costs more than the int8 kernel
 * saves on a matrix-vector product (`npm run bench:kernels`: four [1, 256] x [256, 256] matmuls 0.74x on cpu and
 * 0.68x on wasm, [16, 64] x [64, 64] 0.83x on cpu; [256, 32] x [32, 32] already 1.02x, [256, 256] 2.76x).
 */
export const MIN_INT8_ROWS = 16;

/** Whether the activation's rows (every dim but the last) are known and fewer than MIN_INT8_ROWS. */
function fewRows(a: Value): boolean {
  const shape = a.type?.kind === 'tensor' ? a.type.shape : null;
  if (!shape) return false;
  const lead = shape.slice(0, -1);
  if (!lead.every((d): d is number => typeof d === 'number')) return false;
  return lead.reduce((p, d) => p * d, 1) < MIN_INT8_ROWS;
}

/** A quantizable matmul: activation, constant weight, optional constant bias, and the weight's layout. */
function candidate(n: Node): { a: Value; w: Value; bias: Value | null; transposed: boolean } | null {
  const int = (k: string, d: number) => Number(n.attrs.get(k)?.value ?? d);
  const float = (k: string) => Number(n.attrs.get(k)?.value ?? 1);
  const [a, w, c] = n.inputs;
  if (n.domain !== '' || !a || !w?.const || w.const.dtype !== F32 || w.const.dims.length !== 2) return null;
  const at = a.type?.kind === 'tensor' ? a.type : null;
  if (at?.dtype !== F32 || !at.shape || at.shape.length < 2) return null;
  if (n.op === 'MatMul') return { a, w, bias: null, transposed: false };
  if (n.op !== 'Gemm' || int('transA', 0) !== 0 || float('alpha') !== 1 || float('beta') !== 1) return null;
  const cols = w.const.dims[int('transB', 0) ? 0 : 1]!;
  if (c && !(c.const && c.const.dtype === F32 && c.const.dims.length === 1 && c.const.dims[0] === cols)) return null;
  return { a, w, bias: c ?? null, transposed: int('transB', 0) === 1 };
}

/** Elements per int4 block along K (one scale and zero point each). */
export const INT4_BLOCK = 32;

/**
 * Asymmetric int4 blocks in MatMulNBits' layout from a float32 matrix [K, N] (or [N, K] when `transposed`): for
 * each output column, K in blocks of 32, each with a scale and a 4-bit zero point. `q` is [N, blocks, 16] with two
 * values a byte (the even element in the low nibble), `zeroPoints` is [N, ceil(blocks / 2)] packed the same way.
 * K past the last full block is padded with the zero point.
 */
export function quantizeInt4Blocks(w: Float32Array, k: number, n: number, transposed: boolean): { q: Uint8Array; scale: Float32Array; zeroPoints: Uint8Array; blocks: number } {
  const at = transposed ? (i: number, j: number) => w[j * k + i]! : (i: number, j: number) => w[i * n + j]!;
  const blocks = Math.ceil(k / INT4_BLOCK);
  const zpBytes = Math.ceil(blocks / 2);
  const q = new Uint8Array(n * blocks * (INT4_BLOCK / 2));
  const scale = new Float32Array(n * blocks);
  const zeroPoints = new Uint8Array(n * zpBytes);
  for (let j = 0; j < n; j++) {
    for (let b = 0; b < blocks; b++) {
      const k0 = b * INT4_BLOCK;
      const k1 = Math.min(k, k0 + INT4_BLOCK);
      // The range always holds 0, so that 0 (and the padding) is exact.
      let lo = 0;
      let hi = 0;
      for (let i = k0; i < k1; i++) {
        const x = at(i, j);
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      }
      const s = hi > lo ? (hi - lo) / 15 : 1;
      const zp = Math.max(0, Math.min(15, Math.round(-lo / s)));
      scale[j * blocks + b] = s;
      zeroPoints[j * zpBytes + (b >> 1)]! |= zp << ((b & 1) * 4);
      const base = (j * blocks + b) * (INT4_BLOCK / 2);
      for (let i = 0; i < INT4_BLOCK; i++) {
        const v = k0 + i < k1 ? Math.max(0, Math.min(15, Math.round(at(k0 + i, j) / s) + zp)) : zp;
        q[base + (i >> 1)]! |= v << ((i & 1) * 4);
      }
    }
  }
  return { q, scale, zeroPoints, blocks };
}

/**
 * int4 plans (`--precision int4`): MatMul/Gemm weights as com.microsoft.MatMulNBits (4-bit, blocks of 32 along K,
 * a scale and zero point per block; `accuracy_level` 4 lets the cpu kernel quantize the activation to int8 per block).
 * Embedding tables go to int8 as under `--precision int8`.
 */
export function quantizeInt4(model: Model, ep: string, keep: readonly string[] = []): QuantizeReport {
  return quantizeWeights(model, ep, keep, 4);
}

export function quantizeInt8(model: Model, ep: string, keep: readonly string[] = []): QuantizeReport {
  return quantizeWeights(model, ep, keep, 8);
}

function quantizeWeights(model: Model, ep: string, keep: readonly string[], bits: 4 | 8): QuantizeReport {
  const op = bits === 4 ? NBITS_OP : QUANT_OP;
  if (!epSupports(ep, 'com.microsoft', op)) {
    throw new MsgraphError('unsupported', `--precision int${bits} needs com.microsoft.${op}, which the ${ep} execution provider has no kernel for`, { hint: 'use --ep cpu or wasm' });
  }
  const g = model.graph;
  const report: QuantizeReport = { quantized: 0, embeddings: 0, kept: [], few_rows: 0, weight_bytes_fp32: 0, weight_bytes_quantized: 0 };
  const made = new Map<Value, { q: Value; scale: Value; zeroPoints?: Value }>();
  for (const n of [...g]) {
    if (isEmbedding(n)) {
      if (matchesAny([n.name, n.inputs[0]!.name], keep)) report.kept.push(n.name || n.inputs[0]!.name);
      else quantizeEmbedding(g, n, made, report);
      continue;
    }
    const c = candidate(n);
    if (!c) continue;
    if (matchesAny([n.name, c.w.name], keep)) {
      report.kept.push(n.name || c.w.name);
      continue;
    }
    if (fewRows(c.a)) {
      report.few_rows++;
      continue;
    }
    const [rows, cols] = c.w.const!.dims as [number, number];
    const [k, cn] = c.transposed ? [cols, rows] : [rows, cols];
    let qw = made.get(c.w);
    if (!qw && bits === 8) {
      const { q, scale } = quantizeColumns(c.w.const!.toArray() as Float32Array, k, cn, c.transposed);
      qw = { q: constant(g, `${c.w.name}_int8`, Tensor.fromArray(I8, [k, cn], q)), scale: constant(g, `${c.w.name}_scale`, Tensor.fromArray(F32, [cn], scale)) };
      report.weight_bytes_quantized += k * cn + cn * 4;
    } else if (!qw) {
      const { q, scale, zeroPoints, blocks } = quantizeInt4Blocks(c.w.const!.toArray() as Float32Array, k, cn, c.transposed);
      qw = {
        q: constant(g, `${c.w.name}_int4`, Tensor.fromArray(U8, [cn, blocks, INT4_BLOCK / 2], q)),
        scale: constant(g, `${c.w.name}_scale`, Tensor.fromArray(F32, [cn * blocks], scale)),
        zeroPoints: constant(g, `${c.w.name}_zero_point`, Tensor.fromArray(U8, [zeroPoints.length], zeroPoints)),
      };
      report.weight_bytes_quantized += q.length + scale.byteLength + zeroPoints.length;
    }
    if (!made.has(c.w)) {
      made.set(c.w, qw!);
      report.weight_bytes_fp32 += c.w.const!.nbytes;
    }
    const qn = bits === 8
      ? new Node({ op: QUANT_OP, domain: 'com.microsoft', name: n.name ? `${n.name}_int8` : '', inputs: [c.a, qw!.q, qw!.scale, null, c.bias] })
      : new Node({
        op: NBITS_OP, domain: 'com.microsoft', name: n.name ? `${n.name}_int4` : '', inputs: [c.a, qw!.q, qw!.scale, qw!.zeroPoints!],
        attrs: [['K', { type: 'int', value: k }], ['N', { type: 'int', value: cn }], ['bits', { type: 'int', value: 4 }], ['block_size', { type: 'int', value: INT4_BLOCK }], ['accuracy_level', { type: 'int', value: 4 }]],
      });
    qn.trimInputs();
    g.insertBefore(n, qn);
    // MatMulNBits' bias input is not on every EP (webgpu's kernel takes 3 or 4 inputs): a Gemm's bias is an Add.
    const out = bits === 4 && c.bias ? nodesBefore(g, n, `${n.name || c.w.name}_int4`)('Add', [qn.outputs[0]!, c.bias], [], '') : qn.outputs[0]!;
    takeOver(g, n, out);
    report.quantized++;
  }
  for (const w of made.keys()) if (w.uses.length === 0 && !g.inputs.includes(w) && !g.outputs.includes(w)) g.removeInitializer(w);
  if (report.quantized) model.opsets.set('com.microsoft', 1);
  return report;
}

/** Tables below this many elements are not worth it (position and type embeddings stay float32 with them). */
const MIN_TABLE = 4096;

function isEmbedding(n: Node): boolean {
  const t = n.inputs[0]?.const;
  return n.op === 'Gather' && n.domain === '' && Number(n.attrs.get('axis')?.value ?? 0) === 0 && !!t && t.dtype === F32 && t.dims.length === 2 && t.size >= MIN_TABLE;
}

/** Gather(table, ids) -> Gather(table_int8, ids) as float32 * Gather(row_scale, ids). */
function quantizeEmbedding(g: Graph, n: Node, made: Map<Value, { q: Value; scale: Value; zeroPoints?: Value }>, report: QuantizeReport): void {
  const table = n.inputs[0]!;
  const ids = n.inputs[1]!;
  const [rows, cols] = table.const!.dims as [number, number];
  let qw = made.get(table);
  if (!qw) {
    // Rows are the columns of the transposed table: one scale per row.
    const { q, scale } = quantizeColumns(table.const!.toArray() as Float32Array, cols, rows, true);
    const byRow = new Int8Array(rows * cols);
    for (let i = 0; i < cols; i++) for (let j = 0; j < rows; j++) byRow[j * cols + i] = q[i * rows + j]!;
    qw = { q: constant(g, `${table.name}_int8`, Tensor.fromArray(I8, [rows, cols], byRow)), scale: constant(g, `${table.name}_row_scale`, Tensor.fromArray(F32, [rows, 1], scale)) };
    made.set(table, qw);
    report.weight_bytes_fp32 += table.const!.nbytes;
    report.weight_bytes_quantized += rows * cols + rows * 4;
  }
  const add = nodesBefore(g, n, `${n.name || table.name}_int8`);
  const axis0: [string, Attribute] = ['axis', { type: 'int', value: 0 }];
  const rowsQ = add('Gather', [qw.q, ids], [axis0], '');
  const scales = add('Gather', [qw.scale, ids], [axis0], '');
  const asFloat = add('Cast', [rowsQ], [['to', { type: 'int', value: F32.onnx }]], '');
  takeOver(g, n, add('Mul', [asFloat, scales], [], ''));
  report.embeddings++;
}

export interface Fp16Report {
  /** Weights stored in float16. */
  converted: number;
  /** Weights kept in float32: named by `keep`, or with values past float16's range. */
  kept: string[];
  weight_bytes_fp32: number;
  weight_bytes_fp16: number;
}

/** Float16's largest finite value. */
export const HALF_MAX = 65504;
const F16 = dtypeFromName('float16')!;

/**
 * fp16 storage (`--precision fp16`): float32 weights of 16 elements and more are stored in float16, each read
 * through a Cast back to float32 that onnxruntime folds when the session starts. The file halves; compute stays
 * float32, because no cpu or wasm kernel measured faster in float16 (and few exist). A tensor with values past
 * float16's range stays float32.
 */
export function storeFp16(model: Model, keep: readonly string[] = []): Fp16Report {
  const g = model.graph;
  const report: Fp16Report = { converted: 0, kept: [], weight_bytes_fp32: 0, weight_bytes_fp16: 0 };
  const first = g.nodes[0];
  if (!first) return report;
  for (const v of [...g.initializers]) {
    const t = v.const;
    if (!t || t.dtype !== F32 || t.size < 16 || g.inputs.includes(v) || g.outputs.includes(v) || !v.uses.length) continue;
    if (v.uses.some((u) => u.node.graph !== g)) continue;
    const x = t.toArray() as Float32Array;
    if (matchesAny([v.name, ...v.uses.map((u) => u.node.name)], keep) || x.some((e) => Math.abs(e) > HALF_MAX)) {
      report.kept.push(v.name);
      continue;
    }
    const h = new Uint16Array(x.length);
    for (let i = 0; i < x.length; i++) h[i] = floatToHalf(x[i]!);
    const c = constant(g, `${v.name}_fp16`, Tensor.fromArray(F16, [...t.dims], h));
    const cast = new Node({ op: 'Cast', name: `${v.name}_fp16/Cast`, inputs: [c], attrs: [['to', { type: 'int', value: F32.onnx }]] });
    cast.outputs[0]!.name = `${v.name}_fp32`;
    cast.outputs[0]!.type = { kind: 'tensor', dtype: F32, shape: [...t.dims] };
    g.insertBefore(first, cast);
    g.replaceAllUsesWith(v, cast.outputs[0]!);
    g.removeInitializer(v);
    report.converted++;
    report.weight_bytes_fp32 += t.nbytes;
    report.weight_bytes_fp16 += t.nbytes / 2;
  }
  return report;
}

function constant(g: Graph, name: string, t: Tensor): Value {
  const v = g.addConstant(name, t);
  v.type = { kind: 'tensor', dtype: t.dtype, shape: [...t.dims] };
  return v;
}
