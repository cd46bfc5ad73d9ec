import { dtypeFromName, dtypeFromOnnx, type DType } from '../../ir/dtype.js';
import type { Dim, Shape } from '../../ir/shape.js';
import { dim } from '../../ir/symbolic.js';
import type { InferCtx, KnownValue, MintRef, OpDef } from './types.js';

/** The last opset the tables cover. */
export const MAX_OPSET = 24;

export const i64 = dtypeFromName('int64')!;
export const boolT = dtypeFromName('bool')!;

export function def(
  op: string,
  range: [number, number?],
  mint: MintRef[],
  infer: (ctx: InferCtx) => void,
  arity: { inputs?: [number, number]; outputs?: [number, number]; domain?: string } = {},
): OpDef {
  return {
    domain: arity.domain ?? '', op, since: range[0], until: range[1] ?? MAX_OPSET, mint, infer,
    inputs: arity.inputs ?? [1, 1], outputs: arity.outputs ?? [1, 1],
  };
}

export const api = (name: string, since?: string, when?: string): MintRef => ({ api: name, ...(since ? { since } : {}), ...(when ? { when } : {}) });
export const decompose = (apis: string[], note: string, when?: string): MintRef => ({ decompose: apis, note, ...(when ? { when } : {}) });

/** Normalises a possibly negative axis against `rank`; throws through ctx on out-of-range. */
export function axis(ctx: InferCtx, a: number, rank: number, what = 'axis'): number {
  const r = a < 0 ? a + rank : a;
  if (r < 0 || r >= rank) ctx.fail(`${what} ${a} is out of range for rank ${rank}`);
  return r;
}

/** Numpy-style broadcast of several shapes; contradictions are errors naming the shapes. */
export function broadcast(ctx: InferCtx, shapes: Shape[]): Shape {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let acc: Dim = 1;
    for (const s of shapes) {
      const d = s[s.length - rank + i];
      if (d === undefined || d === 1) continue;
      if (acc === 1) acc = d;
      else if (d === null || acc === null) acc = acc ?? d;
      else if (!dim.equal(acc, d)) {
        if (typeof acc === 'number' && typeof d === 'number') {
          ctx.fail(`cannot broadcast shapes ${shapes.map((x) => `[${x.join(',')}]`).join(' and ')}`);
        }
        // A symbol against a number: the number decides (the symbol must equal it or be 1).
        if (typeof d === 'number') acc = d;
      }
    }
    out.push(acc);
  }
  return out;
}

export function sameAsInput(ctx: InferCtx): void {
  const x = ctx.need(0);
  ctx.setOutput(0, x.dtype, x.shape);
}

export function broadcastInputs(ctx: InferCtx, dtype?: DType | null): void {
  const shapes: Shape[] = [];
  for (let i = 0; i < ctx.inputCount; i++) if (ctx.input(i)) shapes.push(ctx.need(i).shape);
  const first = ctx.input(0);
  ctx.setOutput(0, dtype === undefined ? (first?.dtype ?? null) : dtype, broadcast(ctx, shapes));
}

/** Integer list from input i (opset >= N form) or attribute `name` (older form). */
export function intsFrom(ctx: InferCtx, inputIndex: number, attr: string): Dim[] | undefined | null {
  if (inputIndex < ctx.inputCount && ctx.input(inputIndex)) {
    const v = ctx.value(inputIndex);
    return v ? v.elems : null;
  }
  return ctx.attrInts(attr);
}

/** Static integers (axes, perms): fails when the values are unknown. */
export function staticInts(ctx: InferCtx, dims: Dim[] | null | undefined, what: string): number[] | undefined {
  if (dims === undefined) return undefined;
  if (dims === null || dims.some((d) => typeof d !== 'number')) ctx.unknown(`${what} are not known at compile time`);
  return dims as number[];
}

export function onnxDtype(ctx: InferCtx, code: number): DType {
  const d = dtypeFromOnnx(code);
  if (!d) ctx.fail(`unknown data type ${code}`);
  return d;
}

export function known(elems: Dim[], scalar = false): KnownValue {
  return { scalar, elems };
}

/** Conv/pool output size for one spatial dim. */
export function convOut(inp: Dim, k: number, stride: number, dil: number, padSum: number, ceil = false): Dim {
  const eff = dil * (k - 1) + 1;
  const num = dim.sub(dim.add(inp, padSum), eff);
  const q = ceil ? dim.ceilDiv(num, stride) : dim.floorDiv(num, stride);
  return dim.add(q, 1);
}

/** Row-major strides of a static shape. */
function strides(shape: number[]): number[] {
  const out = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) out[i] = out[i + 1]! * shape[i + 1]!;
  return out;
}

export function isStatic(shape: Shape | null): shape is number[] {
  return shape !== null && shape.every((d) => typeof d === 'number');
}

/** Elements of a small known tensor after a permutation of its axes. */
export function ndTranspose(elems: Dim[], shape: number[], perm: number[]): Dim[] {
  const inS = strides(shape);
  const outShape = perm.map((p) => shape[p]!);
  const outS = strides(outShape);
  const out: Dim[] = new Array(elems.length).fill(null);
  for (let o = 0; o < elems.length; o++) {
    let src = 0;
    for (let k = 0; k < perm.length; k++) src += Math.floor(o / outS[k]!) % outShape[k]! * inS[perm[k]!]!;
    out[o] = elems[src] ?? null;
  }
  return out;
}

/** Elements of a small known tensor after slicing: per-axis index lists. */
export function ndSelect(elems: Dim[], shape: number[], picks: number[][]): Dim[] {
  const inS = strides(shape);
  const outShape = picks.map((p) => p.length);
  const total = outShape.reduce((a, b) => a * b, 1);
  const outS = strides(outShape);
  const out: Dim[] = [];
  for (let o = 0; o < total; o++) {
    let src = 0;
    for (let k = 0; k < picks.length; k++) src += picks[k]![Math.floor(o / outS[k]!) % outShape[k]!]! * inS[k]!;
    out.push(elems[src] ?? null);
  }
  return out;
}

/** Concatenation of small known tensors along `axis`. */
export function ndConcat(parts: { elems: Dim[]; shape: number[] }[], axis: number): Dim[] {
  const outer = parts[0]!.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const out: Dim[] = [];
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const inner = p.shape.slice(axis).reduce((a, b) => a * b, 1);
      out.push(...p.elems.slice(o * inner, (o + 1) * inner));
    }
  }
  return out;
}
