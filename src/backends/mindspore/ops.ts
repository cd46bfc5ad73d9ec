/**
 * One Python expression per op, in mint API terms. Each emitter gets an OpCtx that renders operands (tensors,
 * Python scalars for scalar constants, host tuples/ints for shape arithmetic) and records every API it calls so
 * the call can be checked against the target MindSpore version. Ops with no mapping throw `NoMapping`; the caller
 * then emits a marked fallback.
 */
import type { Node } from '../../ir/node.js';
import type { Dim } from '../../ir/shape.js';
import type { Value } from '../../ir/value.js';
import { symmetricPads, fmt } from './layers.js';
import { pyString } from './python.js';

export class NoMapping extends Error {}

export interface OpCtx {
  readonly node: Node;
  /** ONNX op name. */
  readonly op: string;
  /** Tensor expression of input i (host values and constants converted). */
  t(i: number): string;
  /** Tensor expression as an operand of a Python operator (parenthesised when needed). */
  opnd(i: number): string;
  /** A Python scalar literal when input i is a one-element constant, else null. */
  scalar(i: number): string | null;
  /** Host expression (Python int / tuple of ints) of input i. */
  host(i: number): string;
  /** Known numeric values of input i (constant or static shape arithmetic), else null. */
  ints(i: number): number[] | null;
  /** True when input i is a shape whose elements are known never to be a literal 0. */
  noZeroDims(i: number): boolean;
  has(i: number): boolean;
  rank(i: number): number | null;
  shape(i: number): Dim[] | null;
  dtype(i: number): string | null;
  outDtype(i: number): string | null;
  outRank(i: number): number | null;
  attrInt(k: string, d: number): number;
  attrFloat(k: string, d: number): number;
  attrInts(k: string): number[] | undefined;
  attrStr(k: string, d: string): string;
  /** `api(args...)`, checked against the target version (keyword args as `name=value`). */
  call(api: string, ...args: (string | null | undefined)[]): string;
  /** Declares that the expression yields a tuple of `count` values (multi-output ops). */
  multi(count: number): void;
  /** Registers a module-level helper and returns its name. */
  helper(name: string): string;
  /** The IR dtype name of an ONNX TensorProto data type code. */
  dtypeOfOnnx(code: number): string | null;
  /** `ms.<dtype>` for an IR dtype name. */
  msType(dtype: string): string;
}

export type OpEmitter = (c: OpCtx) => string;

const INT_MAX = 2 ** 62;
const isInt = (d: string | null) => d !== null && /int|uint/.test(d) && !d.startsWith('float');
const wrap = (s: string) => (/^[\w.]+(\[[^\]]*\])?$|^-?\d+(\.\d+)?(e-?\d+)?$/.test(s) ? s : `(${s})`);
const tuple = (xs: (string | number)[]) => (xs.length === 1 ? `(${xs[0]},)` : `(${xs.join(', ')})`);
const compact = (xs: number[]): string => (xs.length && xs.every((x) => x === xs[0]) ? String(xs[0]) : tuple(xs));
const norm = (a: number, r: number) => (a < 0 ? a + r : a);

function binary(sym: string, api: string): OpEmitter {
  return (c) => {
    const a = c.scalar(0);
    const b = c.scalar(1);
    if (a !== null && b !== null) return c.call(api, c.t(0), c.t(1));
    return `${a ?? c.opnd(0)} ${sym} ${b ?? c.opnd(1)}`;
  };
}

function fn(api: string): OpEmitter {
  return (c) => c.call(api, c.t(0));
}

function cmp(api: string): OpEmitter {
  return (c) => c.call(api, c.t(0), c.scalar(1) ?? c.t(1));
}

function variadic(api: string): OpEmitter {
  return (c) => {
    let e = c.t(0);
    for (let i = 1; i < c.node.inputs.length; i++) if (c.has(i)) e = c.call(api, e, c.t(i));
    return e;
  };
}

function axesOf(c: OpCtx, i: number): number[] | null {
  return c.attrInts('axes') ?? (c.has(i) ? c.ints(i) : null);
}

function reduce(api: string, op: 'plain' | 'sum_square' | 'l1' | 'l2' | 'log_sum' = 'plain'): OpEmitter {
  return (c) => {
    const r = c.rank(0);
    const keep = c.attrInt('keepdims', 1) === 1;
    let axes = axesOf(c, 1);
    if (!axes || axes.length === 0) {
      if (c.attrInt('noop_with_empty_axes', 0) === 1 && !c.has(1) && !c.attrInts('axes')) return c.t(0);
      if (c.has(1) && !c.ints(1)) throw new NoMapping('reduction axes known only at run time');
      if (r === null) throw new NoMapping('input rank unknown');
      axes = Array.from({ length: r }, (_, i) => i);
    }
    if (r !== null) axes = axes.map((a) => norm(a, r));
    let x = c.t(0);
    if (op === 'sum_square') x = `${wrap(x)} * ${wrap(x)}`;
    if (op === 'l1') x = c.call('mint.abs', x);
    if (op === 'l2') x = `${wrap(x)} * ${wrap(x)}`;
    const dim = axes.length === 1 ? String(axes[0]) : tuple(axes);
    let e: string;
    if (api === 'mint.prod') {
      if (axes.length !== 1) throw new NoMapping('ReduceProd over several axes');
      e = c.call(api, x, String(axes[0]), `keepdim=${keep ? 'True' : 'False'}`);
    } else e = c.call(api, x, `dim=${dim}`, `keepdim=${keep ? 'True' : 'False'}`);
    if (op === 'l2') e = c.call('mint.sqrt', e);
    if (op === 'log_sum') e = c.call('mint.log', e);
    return e;
  };
}

function padsTorch(pads: number[]): number[] {
  // ONNX: [b0, b1, ..., e0, e1, ...]; torch: last dim first, (begin, end) pairs.
  const n = pads.length / 2;
  const out: number[] = [];
  for (let i = n - 1; i >= 0; i--) out.push(pads[i]!, pads[i + n]!);
  // Trailing (leading-dim) zero pairs are dropped.
  while (out.length > 2 && out[out.length - 1] === 0 && out[out.length - 2] === 0) out.length -= 2;
  return out;
}

function convPads(c: OpCtx, spatial: number): { pre: number[] | null; padding: number[] } {
  const sym = symmetricPads(c.node, spatial);
  if (sym) return { pre: null, padding: sym };
  const auto = c.attrStr('auto_pad', 'NOTSET');
  let pads = c.attrInts('pads') ?? new Array(spatial * 2).fill(0);
  if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    const strides = c.attrInts('strides') ?? new Array(spatial).fill(1);
    const dil = c.attrInts('dilations') ?? new Array(spatial).fill(1);
    const w = c.shape(1);
    const kernel = c.attrInts('kernel_shape') ?? (w ? w.slice(2) : null);
    const x = c.shape(0);
    pads = new Array(spatial * 2).fill(0);
    for (let i = 0; i < spatial; i++) {
      const k = kernel?.[i];
      const inDim = x?.[i + 2];
      if (typeof k !== 'number') throw new NoMapping('SAME padding with an unknown kernel');
      let total: number;
      if (strides[i] === 1) total = dil[i]! * (k - 1);
      else if (typeof inDim === 'number') {
        const out = Math.ceil(inDim / strides[i]!);
        total = Math.max(0, (out - 1) * strides[i]! + (k - 1) * dil[i]! + 1 - inDim);
      } else throw new NoMapping('SAME padding with stride > 1 on a dynamic input size');
      const small = Math.floor(total / 2);
      pads[i] = auto === 'SAME_UPPER' ? small : total - small;
      pads[i + spatial] = total - pads[i]!;
    }
    const begin = pads.slice(0, spatial);
    if (begin.every((b, i) => b === pads[i + spatial])) return { pre: null, padding: begin };
  }
  return { pre: padsTorch(pads), padding: new Array(spatial).fill(0) };
}

function conv(c: OpCtx): string {
  const w = c.shape(1);
  const spatial = w ? w.length - 2 : (c.rank(0) ?? 4) - 2;
  const { pre, padding } = convPads(c, spatial);
  let x = c.t(0);
  if (pre) x = c.call('mint.nn.functional.pad', x, tuple(pre));
  const strides = c.attrInts('strides') ?? new Array(spatial).fill(1);
  const dil = c.attrInts('dilations') ?? new Array(spatial).fill(1);
  const args = [x, c.t(1), c.has(2) ? c.t(2) : 'None'];
  const kw: string[] = [];
  if (strides.some((s) => s !== 1)) kw.push(`stride=${compact(strides)}`);
  if (padding.some((p) => p !== 0)) kw.push(`padding=${compact(padding)}`);
  if (dil.some((d) => d !== 1)) kw.push(`dilation=${compact(dil)}`);
  if (c.attrInt('group', 1) !== 1) kw.push(`groups=${c.attrInt('group', 1)}`);
  return c.call(`mint.nn.functional.conv${spatial}d`, ...args, ...kw);
}

function convTranspose(c: OpCtx): string {
  const w = c.shape(1);
  const spatial = w ? w.length - 2 : 2;
  if (spatial !== 2) throw new NoMapping(`ConvTranspose with ${spatial} spatial dims (mint has conv_transpose2d only)`);
  if (c.node.attrs.has('output_shape')) throw new NoMapping('ConvTranspose with output_shape');
  const pads = symmetricPads(c.node, spatial);
  if (!pads) throw new NoMapping('ConvTranspose with asymmetric or automatic padding');
  const strides = c.attrInts('strides') ?? [1, 1];
  const dil = c.attrInts('dilations') ?? [1, 1];
  const outPad = c.attrInts('output_padding') ?? [0, 0];
  const kw: string[] = [];
  if (strides.some((s) => s !== 1)) kw.push(`stride=${compact(strides)}`);
  if (pads.some((p) => p !== 0)) kw.push(`padding=${compact(pads)}`);
  if (outPad.some((p) => p !== 0)) kw.push(`output_padding=${compact(outPad)}`);
  if (c.attrInt('group', 1) !== 1) kw.push(`groups=${c.attrInt('group', 1)}`);
  if (dil.some((d) => d !== 1)) kw.push(`dilation=${compact(dil)}`);
  return c.call('mint.nn.functional.conv_transpose2d', c.t(0), c.t(1), c.has(2) ? c.t(2) : 'None', ...kw);
}

function pool(kind: 'max' | 'avg'): OpEmitter {
  return (c) => {
    const k = c.attrInts('kernel_shape');
    if (!k) throw new NoMapping('pooling without kernel_shape');
    const spatial = k.length;
    if (kind === 'max' && spatial !== 2) throw new NoMapping(`MaxPool over ${spatial} spatial dims (mint has max_pool2d only)`);
    if (kind === 'avg' && spatial === 3) throw new NoMapping('AveragePool over 3 spatial dims');
    const withIndices = !!(c.node.outputs[1] && c.node.outputs[1].uses.length);
    if (withIndices && (kind !== 'max' || c.attrInt('storage_order', 0) !== 0)) throw new NoMapping('MaxPool indices in column-major storage order');
    const { pre, padding } = convPads(c, spatial);
    let x = c.t(0);
    if (pre) x = kind === 'max' ? c.call('mint.nn.functional.pad', x, tuple(pre), '-float("inf")') : c.call('mint.nn.functional.pad', x, tuple(pre));
    const strides = c.attrInts('strides') ?? new Array(spatial).fill(1);
    const dil = c.attrInts('dilations') ?? new Array(spatial).fill(1);
    if (pre && kind === 'avg' && c.attrInt('count_include_pad', 0) === 0) throw new NoMapping('AveragePool with asymmetric pads excluded from the count');
    const kw = [`stride=${compact(strides)}`];
    if (padding.some((p) => p !== 0)) kw.push(`padding=${compact(padding)}`);
    if (kind === 'max' && dil.some((d) => d !== 1)) kw.push(`dilation=${compact(dil)}`);
    if (c.attrInt('ceil_mode', 0) === 1) kw.push('ceil_mode=True');
    if (kind === 'avg' && !pre && padding.some((p) => p !== 0)) kw.push(`count_include_pad=${c.attrInt('count_include_pad', 0) ? 'True' : 'False'}`);
    if (withIndices) {
      if (pre) throw new NoMapping('MaxPool indices with asymmetric padding');
      c.multi(2);
      c.call(`mint.nn.functional.max_pool2d`, x, compact(k), ...kw, 'return_indices=True');
      return `${c.helper('max_pool2d_with_indices')}(${x}, ${compact(k)}, ${kw.map((a) => a.replace(/^\w+=/, '')).length ? kw.join(', ') : ''})`;
    }
    return c.call(`mint.nn.functional.${kind}_pool${spatial}d`, x, compact(k), ...kw);
  };
}

function globalPool(api: string): OpEmitter {
  return (c) => {
    const r = c.rank(0);
    if (r === null) throw new NoMapping('input rank unknown');
    const dims = Array.from({ length: r - 2 }, (_, i) => i + 2);
    return c.call(api, c.t(0), `dim=${tuple(dims)}`, 'keepdim=True');
  };
}

function softmax(api: string): OpEmitter {
  return (c) => {
    const r = c.rank(0);
    let axis = c.attrInt('axis', -1);
    if (c.attrInt('coerce_2d', 0) === 1 && r !== null && norm(axis, r) !== r - 1) {
      const flat = c.call('mint.flatten', c.t(0), String(norm(axis, r)));
      return `${c.call(api, flat, 'dim=-1')}.reshape(${c.t(0)}.shape)`;
    }
    if (r !== null) axis = norm(axis, r) === r - 1 ? -1 : axis;
    return c.call(api, c.t(0), `dim=${axis}`);
  };
}

function resize(c: OpCtx): string {
  const r = c.rank(0);
  if (r === null || r < 3 || r > 5) throw new NoMapping('Resize needs a rank-3..5 input');
  const mode = c.attrStr('mode', 'nearest');
  const ctm = c.attrStr('coordinate_transformation_mode', 'half_pixel');
  const spatial = r - 2;
  let msMode: string;
  let align: string | null = null;
  if (mode === 'nearest') {
    if (ctm !== 'asymmetric' || c.attrStr('nearest_mode', 'round_prefer_floor') !== 'floor') throw new NoMapping(`nearest Resize with ${ctm}/${c.attrStr('nearest_mode', 'round_prefer_floor')} (mint's nearest is asymmetric/floor)`);
    msMode = 'nearest';
  } else if (mode === 'linear' || mode === 'cubic') {
    if (mode === 'cubic' && (spatial !== 2 || c.attrFloat('cubic_coeff_a', -0.75) !== -0.75)) throw new NoMapping('cubic Resize other than bicubic with a = -0.75');
    msMode = mode === 'cubic' ? 'bicubic' : ['linear', 'bilinear', 'trilinear'][spatial - 1]!;
    if (ctm === 'align_corners') align = 'True';
    else if (ctm === 'half_pixel' || ctm === 'pytorch_half_pixel') align = 'False';
    else throw new NoMapping(`${mode} Resize with coordinate_transformation_mode ${ctm}`);
  } else throw new NoMapping(`Resize mode ${mode}`);
  if (c.attrInt('antialias', 0) === 1) throw new NoMapping('antialiased Resize');
  // Sizes are always passed: MindSpore 2.6 rejects scale_factor for bilinear/bicubic.
  let size: string;
  const sizes = c.node.attrs.get('sizes');
  const scales = c.attrInts('scales') ? null : c.node.attrs.get('scales');
  const xs = c.shape(0);
  if (sizes?.type === 'ints') size = tuple(sizes.value.slice(2).map(Number));
  else if (c.has(3)) {
    const known = c.ints(3);
    size = known ? tuple(known.slice(2)) : `${wrap(c.host(3))}[2:]`;
  } else if (scales?.type === 'floats') {
    const s = scales.value.map(Number);
    if (s[0] !== 1 || s[1] !== 1) throw new NoMapping('Resize scaling batch or channel dims');
    size = tuple(s.slice(2).map((f, i) => {
      const d = xs?.[i + 2];
      return typeof d === 'number' ? String(Math.floor(d * f)) : Number.isInteger(f) ? `${c.t(0)}.shape[${i + 2}] * ${f}` : `int(${c.t(0)}.shape[${i + 2}] * ${f})`;
    }));
  } else throw new NoMapping('Resize scales known only at run time');
  const args = [c.t(0), `size=${size}`, `mode=${pyString(msMode)}`];
  if (align) args.push(`align_corners=${align}`);
  return c.call('mint.nn.functional.interpolate', ...args);
}

function slice(c: OpCtx): string {
  const r = c.rank(0);
  const starts = c.attrInts('starts') ?? (c.has(1) ? c.ints(1) : null);
  const ends = c.attrInts('ends') ?? (c.has(2) ? c.ints(2) : null);
  const lenOf = (i: number) => {
    const d = c.has(i) ? c.shape(i)?.[0] : undefined;
    return typeof d === 'number' ? d : null;
  };
  const count = starts?.length ?? ends?.length ?? c.attrInts('axes')?.length ?? (c.has(3) ? c.ints(3)?.length : null) ?? lenOf(1) ?? lenOf(2);
  if (count === null) throw new NoMapping('Slice whose starts and ends are both known only at run time');
  const axes = c.attrInts('axes') ?? (c.has(3) ? c.ints(3) : null) ?? Array.from({ length: count }, (_, i) => i);
  const steps = c.attrInts('steps') ?? (c.has(4) ? c.ints(4) : null) ?? new Array(count).fill(1);
  if (r === null && axes.some((a) => a < 0)) throw new NoMapping('Slice with negative axes on an input of unknown rank');
  const rank = r ?? Math.max(...axes) + 1;
  const parts: string[] = new Array(rank).fill(':');
  const reversed: string[] = [];
  for (let i = 0; i < axes.length; i++) {
    const ax = norm(axes[i]!, rank);
    const st = steps[i]!;
    if (st < 0) {
      const s = starts ? String(Math.min(Math.max(starts[i]!, -INT_MAX), INT_MAX)) : `${wrap(c.host(1))}[${i}]`;
      const e = ends ? String(Math.min(Math.max(ends[i]!, -INT_MAX), INT_MAX)) : `${wrap(c.host(2))}[${i}]`;
      if (st === -1 && starts && ends && starts[i]! >= INT_MAX / 4 && ends[i]! <= -INT_MAX / 4) reversed.push(`mint.flip(%, dims=${tuple([ax])})`);
      else reversed.push(`${c.helper('slice_backwards')}(%, ${ax}, ${s}, ${e}, ${st})`);
      continue;
    }
    const s = starts ? String(starts[i]) : `${wrap(c.host(1))}[${i}]`;
    const e = ends ? (ends[i]! >= INT_MAX / 4 ? '' : String(Math.max(ends[i]!, -INT_MAX))) : `${wrap(c.host(2))}[${i}]`;
    const sText = s === '0' ? '' : s;
    parts[ax] = `${sText}:${e}${st !== 1 ? `:${st}` : ''}`;
  }
  while (parts.length > 1 && parts[parts.length - 1] === ':') parts.pop();
  let e = parts.every((p) => p === ':') ? c.t(0) : `${wrap(c.t(0))}[${parts.join(', ')}]`;
  for (const r of reversed) {
    if (r.startsWith('mint.flip')) e = c.call('mint.flip', e, r.slice(r.indexOf('dims=')).replace(/\)$/, ''));
    else e = r.replace('%', e);
  }
  return e;
}

function gather(c: OpCtx): string {
  const r = c.rank(0);
  let axis = c.attrInt('axis', 0);
  if (r !== null) axis = norm(axis, r);
  const known = c.ints(1);
  const idxRank = c.rank(1);
  const pre = Array.from({ length: axis }, () => ':');
  if (known && idxRank === 0) return `${wrap(c.t(0))}[${[...pre, String(known[0])].join(', ')}]`;
  if (axis < 0) throw new NoMapping('Gather with a negative axis on an input of unknown rank');
  return `${c.helper('gather')}(${c.t(0)}, ${c.t(1)}, ${axis})`;
}

function reshape(c: OpCtx): string {
  const known = c.node.attrs.get('shape');
  const shape = known?.type === 'ints' ? known.value.map(Number) : c.ints(1);
  const allowZero = c.attrInt('allowzero', 0) === 1;
  if (shape) {
    if (!shape.includes(0) || allowZero) return `${wrap(c.t(0))}.reshape(${tuple(shape)})`;
    const dims = shape.map((d, i) => (d === 0 ? `${wrap(c.t(0))}.shape[${i}]` : String(d)));
    return `${wrap(c.t(0))}.reshape(${tuple(dims)})`;
  }
  if (allowZero || c.noZeroDims(1)) return `${wrap(c.t(0))}.reshape(${c.host(1)})`;
  return `${c.helper('reshape')}(${c.t(0)}, ${c.host(1)})`;
}

function transpose(c: OpCtx): string {
  const r = c.rank(0);
  const perm = c.attrInts('perm') ?? (r !== null ? Array.from({ length: r }, (_, i) => r - 1 - i) : null);
  if (!perm) throw new NoMapping('Transpose without perm on an input of unknown rank');
  const moved = perm.map((p, i) => (p !== i ? i : -1)).filter((i) => i >= 0);
  if (moved.length === 0) return c.t(0);
  if (moved.length === 2 && perm[moved[0]!] === moved[1]) return c.call('mint.transpose', c.t(0), String(moved[0]), String(moved[1]));
  return c.call('mint.permute', c.t(0), tuple(perm));
}

function unsqueeze(c: OpCtx): string {
  const axes = axesOf(c, 1);
  const inRank = c.rank(0);
  const r = c.outRank(0) ?? (inRank !== null && axes ? inRank + axes.length : null);
  if (!axes) throw new NoMapping('Unsqueeze axes known only at run time');
  if (r === null && axes.length === 1) return c.call('mint.unsqueeze', c.t(0), String(axes[0]));
  const sorted = axes.map((a) => (r !== null ? norm(a, r) : a)).sort((a, b) => a - b);
  if (sorted.some((a) => a < 0)) throw new NoMapping('Unsqueeze with negative axes and unknown rank');
  let e = c.t(0);
  for (const a of sorted) e = c.call('mint.unsqueeze', e, String(a));
  return e;
}

function squeeze(c: OpCtx): string {
  const r = c.rank(0);
  let axes = axesOf(c, 1);
  if (!axes) {
    const s = c.shape(0);
    if (!s || s.some((d) => typeof d !== 'number')) throw new NoMapping('Squeeze without axes on a dynamic shape');
    axes = s.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
  }
  if (r !== null) axes = axes.map((a) => norm(a, r));
  let e = c.t(0);
  for (const a of [...axes].sort((x, y) => y - x)) e = c.call('mint.squeeze', e, String(a));
  return e;
}

function split(c: OpCtx): string {
  const r = c.rank(0);
  let axis = c.attrInt('axis', 0);
  if (r !== null) axis = norm(axis, r);
  const sizes = c.attrInts('split') ?? (c.has(1) ? c.ints(1) : null);
  const n = c.node.outputs.length;
  c.multi(n);
  if (sizes) return c.call('mint.split', c.t(0), tuple(sizes), `dim=${axis}`);
  if (c.has(1)) return c.call('mint.split', c.t(0), c.host(1), `dim=${axis}`);
  const d = c.shape(0)?.[axis];
  if (typeof d === 'number' && d % n === 0) return c.call('mint.split', c.t(0), String(d / n), `dim=${axis}`);
  return c.call('mint.chunk', c.t(0), String(n), `dim=${axis}`);
}

function concat(c: OpCtx): string {
  const items = c.node.inputs.map((_, i) => i).filter((i) => c.has(i)).map((i) => c.t(i));
  return c.call('mint.cat', tuple(items), `dim=${c.attrInt('axis', 0)}`);
}

function pad(c: OpCtx): string {
  const mode = c.attrStr('mode', 'constant');
  const pads = c.attrInts('pads') ?? c.ints(1);
  const r = c.rank(0);
  const axes = c.attrInts('axes') ?? (c.has(3) ? c.ints(3) : null);
  let full: number[];
  if (!pads) {
    if (axes || r === null) throw new NoMapping('Pad amounts known only at run time');
    const modeArg = mode === 'constant' ? [] : [`mode=${pyString(mode === 'edge' ? 'replicate' : mode)}`];
    return c.call('mint.nn.functional.pad', c.t(0), `${c.helper('torch_pads')}(${c.host(1)})`, ...modeArg, ...(c.has(2) ? [`value=${c.scalar(2) ?? c.t(2)}`] : []));
  }
  if (axes) {
    if (r === null) throw new NoMapping('Pad with axes on an input of unknown rank');
    full = new Array(2 * r).fill(0);
    axes.forEach((a, i) => {
      full[norm(a, r)] = pads[i]!;
      full[norm(a, r) + r] = pads[i + axes.length]!;
    });
  } else full = pads;
  const tp = padsTorch(full);
  const value = c.attrFloat('value', 0);
  const args = [c.t(0), tuple(tp)];
  if (mode === 'constant') {
    if (c.has(2) && c.attrFloat('value', NaN) !== c.attrFloat('value', NaN)) args.push(`value=${c.scalar(2) ?? c.t(2)}`);
    else if (value !== 0) args.push(`value=${fmt(value)}`);
  } else if (mode === 'reflect' || mode === 'edge') {
    const k = tp.length / 2;
    const m = pyString(mode === 'edge' ? 'replicate' : 'reflect');
    // Reflect/replicate padding takes (N, C, *spatial) inputs: other ranks go through a reshape.
    if (r !== k + 2) return `${c.helper('pad_last_dims')}(${c.t(0)}, ${tuple(tp)}, ${m})`;
    args.push(`mode=${m}`);
  } else throw new NoMapping(`Pad mode ${mode}`);
  return c.call('mint.nn.functional.pad', ...args);
}

function clip(c: OpCtx): string {
  const lo = c.node.attrs.has('min') ? fmt(c.attrFloat('min', 0)) : c.has(1) ? c.scalar(1) ?? c.t(1) : null;
  const hi = c.node.attrs.has('max') ? fmt(c.attrFloat('max', 0)) : c.has(2) ? c.scalar(2) ?? c.t(2) : null;
  if (lo === null && hi === null) return c.t(0);
  const intTyped = isInt(c.dtype(0));
  const conv = (s: string | null) => (s !== null && intTyped && /^-?\d+\.0$/.test(s) ? s.replace('.0', '') : s);
  return c.call('mint.clamp', c.t(0), conv(lo) ?? 'None', conv(hi) ?? 'None');
}

function cast(c: OpCtx): string {
  const code = c.attrInt('to', 0);
  const to = c.outDtype(0) ?? (code ? c.dtypeOfOnnx(code) : null);
  if (!to) throw new NoMapping('Cast to an unknown type');
  if (to === c.dtype(0)) return c.t(0);
  return `${wrap(c.t(0))}.astype(${c.msType(to)})`;
}

function where(c: OpCtx): string {
  const lit = (i: number) => {
    const s = c.scalar(i);
    return s !== null && c.rank(i) === 0 ? `ms.Tensor(${s}, ${c.msType(c.dtype(i) ?? 'float32')})` : c.t(i);
  };
  return c.call('mint.where', c.t(0), lit(1), lit(2));
}

function expand(c: OpCtx): string {
  return `${c.helper('expand')}(${c.t(0)}, ${c.host(1)})`;
}

function constantOfShape(c: OpCtx): string {
  const v = c.node.attrs.get('value');
  const dtype = c.outDtype(0) ?? 'float32';
  let val = 0;
  if (v?.type === 'tensor') val = Number((v.value.toArray() as ArrayLike<number | bigint>)[0] ?? 0);
  const shape = c.ints(0);
  const s = shape ? tuple(shape) : c.host(0);
  if (val === 0) return c.call('mint.zeros', s, `dtype=${c.msType(dtype)}`);
  const lit = dtype === 'bool' ? (val ? 'True' : 'False') : isInt(dtype) ? String(val) : fmt(val);
  return c.call('mint.full', s, lit, `dtype=${c.msType(dtype)}`);
}

function range(c: OpCtx): string {
  const dtype = c.outDtype(0) ?? 'int64';
  const v = (i: number) => {
    const k = c.ints(i);
    return k ? String(k[0]) : c.host(i);
  };
  return c.call('mint.arange', v(0), v(1), v(2), `dtype=${c.msType(dtype)}`);
}

function flatten(c: OpCtx): string {
  const r = c.rank(0);
  let axis = c.attrInt('axis', 1);
  if (r !== null) axis = norm(axis, r);
  if (axis === 0) return `${wrap(c.t(0))}.reshape(1, -1)`;
  if (axis === 1) return c.call('mint.flatten', c.t(0), '1');
  return c.call('mint.flatten', c.call('mint.flatten', c.t(0), String(axis)), '0', String(axis - 1));
}

function gemm(c: OpCtx): string {
  const ta = c.attrInt('transA', 0) === 1;
  const tb = c.attrInt('transB', 0) === 1;
  const alpha = c.attrFloat('alpha', 1);
  const beta = c.attrFloat('beta', 1);
  if (!ta && tb && alpha === 1 && beta === 1) return c.call('mint.nn.functional.linear', c.t(0), c.t(1), c.has(2) ? c.t(2) : null);
  const a = ta ? c.call('mint.transpose', c.t(0), '0', '1') : c.t(0);
  const b = tb ? c.call('mint.transpose', c.t(1), '0', '1') : c.t(1);
  let e = c.call('mint.matmul', a, b);
  if (alpha !== 1) e = `${wrap(e)} * ${fmt(alpha)}`;
  if (c.has(2)) e = `${e} + ${beta !== 1 ? `${wrap(c.t(2))} * ${fmt(beta)}` : c.opnd(2)}`;
  return e;
}

function instanceNorm(c: OpCtx): string {
  const s = c.shape(1);
  const ch = s?.[0];
  if (typeof ch !== 'number') throw new NoMapping('InstanceNormalization with an unknown channel count');
  return c.call('mint.nn.functional.group_norm', c.t(0), String(ch), c.t(1), c.t(2), fmt(c.attrFloat('epsilon', 1e-5)));
}

function layerNorm(c: OpCtx): string {
  const r = c.rank(0);
  let axis = c.attrInt('axis', -1);
  if (r === null) throw new NoMapping('LayerNormalization on an input of unknown rank');
  axis = norm(axis, r);
  const shape = `${wrap(c.t(0))}.shape[${axis}:]`;
  return c.call('mint.nn.functional.layer_norm', c.t(0), shape, c.t(1), c.has(2) ? c.t(2) : 'None', fmt(c.attrFloat('epsilon', 1e-5)));
}

function batchNorm(c: OpCtx): string {
  return c.call('mint.nn.functional.batch_norm', c.t(0), c.t(3), c.t(4), c.t(1), c.t(2), 'training=False', `eps=${fmt(c.attrFloat('epsilon', 1e-5))}`);
}

function depthToSpace(c: OpCtx): string {
  const b = c.attrInt('blocksize', 1);
  if (c.attrStr('mode', 'DCR') === 'CRD') return c.call('mint.nn.functional.pixel_shuffle', c.t(0), String(b));
  return `${c.helper('depth_to_space_dcr')}(${c.t(0)}, ${b})`;
}

function topk(c: OpCtx): string {
  const k = c.node.attrs.has('k') ? String(c.attrInt('k', 1)) : c.ints(1) ? String(c.ints(1)![0]) : `${wrap(c.host(1))}[0]`;
  c.multi(2);
  // A stable sort keeps ONNX's tie order (lower index first), which mint.topk does not promise.
  return `${c.helper('topk')}(${c.t(0)}, ${k}, ${c.attrInt('axis', -1)}, ${c.attrInt('largest', 1) ? 'True' : 'False'})`;
}

function trilu(api: string): OpEmitter {
  return (c) => {
    const k = c.has(1) ? (c.ints(1) ? String(c.ints(1)![0]) : c.host(1)) : '0';
    return k === '0' ? c.call(api, c.t(0)) : c.call(api, c.t(0), k);
  };
}

function hardSigmoid(c: OpCtx): string {
  const alpha = c.attrFloat('alpha', 0.2);
  const beta = c.attrFloat('beta', 0.5);
  if (Math.abs(alpha - 1 / 6) < 1e-7 && beta === 0.5) return c.call('mint.nn.functional.hardsigmoid', c.t(0));
  return c.call('mint.clamp', `${wrap(c.t(0))} * ${fmt(alpha)} + ${fmt(beta)}`, '0.0', '1.0');
}

function div(c: OpCtx): string {
  if (isInt(c.outDtype(0))) return c.call('mint.div', c.t(0), c.scalar(1) ?? c.t(1), 'rounding_mode="trunc"');
  return binary('/', 'mint.div')(c);
}

function pow(c: OpCtx): string {
  const e = c.scalar(1);
  if (e !== null) return `${c.opnd(0)} ** ${e.replace(/\.0$/, '') === '2' ? '2' : e}`;
  return c.call('mint.pow', c.t(0), c.t(1));
}

function mod(api: string): OpEmitter {
  return (c) => c.call(api, c.t(0), c.scalar(1) ?? c.t(1));
}

function rnn(kind: 'lstm' | 'gru' | 'rnn'): OpEmitter {
  return (c) => {
    if (c.attrInt('layout', 0) !== 0) throw new NoMapping(`${c.op} with layout 1`);
    const acts = c.node.attrs.get('activations');
    const want = { lstm: ['sigmoid', 'tanh', 'tanh'], gru: ['sigmoid', 'tanh'], rnn: ['tanh'] }[kind];
    const defaults = acts?.type === 'strings' ? acts.value.every((a, i) => a.toLowerCase() === want[i % want.length]) : !acts;
    if (!defaults || c.node.attrs.has('clip')) throw new NoMapping(`${c.op} with custom activations or clip`);
    if (c.has(4)) throw new NoMapping(`${c.op} with sequence_lens`);
    if (kind === 'lstm' && (c.has(7) || c.attrInt('input_forget', 0))) throw new NoMapping('LSTM with peepholes or input_forget');
    const dir = pyString(c.attrStr('direction', 'forward'));
    const opt = (i: number) => (c.has(i) ? c.t(i) : 'None');
    c.multi(kind === 'lstm' ? 3 : 2);
    if (kind === 'lstm') return `${c.helper('lstm')}(${c.t(0)}, ${c.t(1)}, ${c.t(2)}, ${opt(3)}, ${opt(5)}, ${opt(6)}, ${dir})`;
    if (kind === 'gru') return `${c.helper('gru')}(${c.t(0)}, ${c.t(1)}, ${c.t(2)}, ${opt(3)}, ${opt(5)}, ${dir}, ${c.attrInt('linear_before_reset', 0) ? 'True' : 'False'})`;
    return `${c.helper('rnn')}(${c.t(0)}, ${c.t(1)}, ${c.t(2)}, ${opt(3)}, ${opt(5)}, ${dir})`;
  };
}

function gridSample(c: OpCtx): string {
  const mode = c.attrStr('mode', 'bilinear');
  const ms = mode === 'linear' ? 'bilinear' : mode === 'cubic' ? 'bicubic' : mode;
  return c.call('mint.nn.functional.grid_sample', c.t(0), c.t(1), `mode=${pyString(ms)}`, `padding_mode=${pyString(c.attrStr('padding_mode', 'zeros'))}`, `align_corners=${c.attrInt('align_corners', 0) ? 'True' : 'False'}`);
}

function einsum(c: OpCtx): string {
  const items = c.node.inputs.map((_, i) => c.t(i));
  return c.call('mint.einsum', pyString(c.attrStr('equation', '')), ...items);
}

/** The activation of com.microsoft's fused Conv/Gemm. */
function activation(c: OpCtx, e: string): string {
  const act = c.attrStr('activation', '');
  const params = c.node.attrs.get('activation_params');
  const p = params?.type === 'floats' ? params.value.map(Number) : [];
  switch (act) {
    case '':
      return e;
    case 'Relu':
      return c.call('mint.nn.functional.relu', e);
    case 'Sigmoid':
      return c.call('mint.sigmoid', e);
    case 'Tanh':
      return c.call('mint.tanh', e);
    case 'LeakyRelu':
      return c.call('mint.nn.functional.leaky_relu', e, fmt(p[0] ?? 0.01));
    case 'Clip':
      return c.call('mint.clamp', e, fmt(p[0] ?? -Infinity), fmt(p[1] ?? Infinity));
    case 'HardSigmoid':
      return c.call('mint.clamp', `${wrap(e)} * ${fmt(p[0] ?? 0.2)} + ${fmt(p[1] ?? 0.5)}`, '0.0', '1.0');
    default:
      throw new NoMapping(`fused activation ${act}`);
  }
}

export const OP_EMITTERS: Record<string, OpEmitter> = {
  Add: binary('+', 'mint.add'),
  Sub: binary('-', 'mint.sub'),
  Mul: binary('*', 'mint.mul'),
  Div: div,
  Pow: pow,
  Mod: (c) => mod(c.attrInt('fmod', 0) ? 'mint.fmod' : 'mint.remainder')(c),
  Equal: cmp('mint.eq'),
  Less: cmp('mint.lt'),
  Greater: cmp('mint.gt'),
  LessOrEqual: cmp('mint.le'),
  GreaterOrEqual: cmp('mint.greater_equal'),
  And: (c) => c.call('mint.logical_and', c.t(0), c.t(1)),
  Or: (c) => c.call('mint.logical_or', c.t(0), c.t(1)),
  Xor: (c) => c.call('mint.logical_xor', c.t(0), c.t(1)),
  Not: fn('mint.logical_not'),
  Min: variadic('mint.minimum'),
  Max: variadic('mint.maximum'),
  Sum: (c) => c.node.inputs.map((_, i) => c.opnd(i)).join(' + '),
  Mean: (c) => `(${c.node.inputs.map((_, i) => c.opnd(i)).join(' + ')}) / ${c.node.inputs.length}`,
  Abs: fn('mint.abs'),
  Neg: fn('mint.neg'),
  Exp: fn('mint.exp'),
  Log: fn('mint.log'),
  Sqrt: fn('mint.sqrt'),
  Reciprocal: fn('mint.reciprocal'),
  Floor: fn('mint.floor'),
  Ceil: fn('mint.ceil'),
  Round: fn('mint.round'),
  Sign: fn('mint.sign'),
  Sin: fn('mint.sin'),
  Cos: fn('mint.cos'),
  Tan: fn('mint.tan'),
  Tanh: fn('mint.tanh'),
  Erf: fn('mint.erf'),
  Sigmoid: fn('mint.sigmoid'),
  IsNaN: fn('mint.isnan'),
  Relu: fn('mint.nn.functional.relu'),
  HardSwish: fn('mint.nn.functional.hardswish'),
  HardSigmoid: hardSigmoid,
  Softplus: fn('mint.nn.functional.softplus'),
  Mish: fn('mint.nn.functional.mish'),
  Elu: (c) => c.call('mint.nn.functional.elu', c.t(0), `alpha=${fmt(c.attrFloat('alpha', 1))}`),
  LeakyRelu: (c) => c.call('mint.nn.functional.leaky_relu', c.t(0), fmt(c.attrFloat('alpha', 0.01))),
  Selu: fn('mint.nn.functional.selu'),
  'mint.nn.functional.silu': fn('mint.nn.functional.silu'),
  Gelu: (c) => (c.attrStr('approximate', 'none') === 'none' ? c.call('mint.nn.functional.gelu', c.t(0)) : c.call('mint.nn.functional.gelu', c.t(0), `approximate=${pyString(c.attrStr('approximate', 'none'))}`)),
  PRelu: (c) => c.call('mint.where', `${c.opnd(0)} >= 0`, c.t(0), `${c.opnd(0)} * ${c.opnd(1)}`),
  Softmax: softmax('mint.softmax'),
  LogSoftmax: softmax('mint.nn.functional.log_softmax'),
  Clip: clip,
  Cast: cast,
  CastLike: cast,
  MatMul: (c) => c.call('mint.matmul', c.t(0), c.t(1)),
  Gemm: gemm,
  Einsum: einsum,
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: pool('max'),
  AveragePool: pool('avg'),
  GlobalAveragePool: globalPool('mint.mean'),
  GlobalMaxPool: globalPool('mint.amax'),
  BatchNormalization: batchNorm,
  InstanceNormalization: instanceNorm,
  LayerNormalization: layerNorm,
  GroupNormalization: (c) => {
    const groups = c.attrInt('num_groups', 1);
    const ch = c.shape(0)?.[1];
    let w = c.t(1);
    let b = c.t(2);
    if (c.attrInt('affine_per_group', 0) === 1) {
      // Before opset 21 the affine is per group: spread it over each group's channels.
      if (typeof ch !== 'number') throw new NoMapping('per-group GroupNormalization affine with an unknown channel count');
      w = c.call('mint.repeat_interleave', w, String(ch / groups));
      b = c.call('mint.repeat_interleave', b, String(ch / groups));
    }
    return c.call('mint.nn.functional.group_norm', c.t(0), String(groups), w, b, fmt(c.attrFloat('epsilon', 1e-5)));
  },
  Resize: resize,
  Upsample: resize,
  GridSample: gridSample,
  Slice: slice,
  Gather: gather,
  GatherElements: (c) => c.call('mint.gather', c.t(0), String(c.attrInt('axis', 0)), c.t(1)),
  GatherND: (c) => {
    if (c.attrInt('batch_dims', 0) !== 0) throw new NoMapping('GatherND with batch_dims');
    return `${c.helper('gather_nd')}(${c.t(0)}, ${c.t(1)})`;
  },
  ScatterND: (c) => {
    if (c.attrStr('reduction', 'none') !== 'none') throw new NoMapping('ScatterND with a reduction');
    return `${c.helper('scatter_nd')}(${c.t(0)}, ${c.t(1)}, ${c.t(2)})`;
  },
  ScatterElements: (c) => {
    const red = c.attrStr('reduction', 'none');
    if (red === 'add') return c.call('mint.scatter_add', c.t(0), String(c.attrInt('axis', 0)), c.t(1), c.t(2));
    if (red !== 'none') throw new NoMapping(`ScatterElements with reduction ${red}`);
    return c.call('mint.scatter', c.t(0), String(c.attrInt('axis', 0)), c.t(1), c.t(2));
  },
  Where: where,
  Expand: expand,
  Tile: (c) => c.call('mint.tile', c.t(0), c.ints(1) ? tuple(c.ints(1)!) : c.host(1)),
  Range: range,
  ConstantOfShape: constantOfShape,
  Reshape: reshape,
  Flatten: flatten,
  Transpose: transpose,
  Unsqueeze: unsqueeze,
  Squeeze: squeeze,
  Concat: concat,
  Split: split,
  Pad: pad,
  ReduceMean: reduce('mint.mean'),
  ReduceSum: reduce('mint.sum'),
  ReduceMax: reduce('mint.amax'),
  ReduceMin: reduce('mint.amin'),
  ReduceProd: reduce('mint.prod'),
  ReduceSumSquare: reduce('mint.sum', 'sum_square'),
  ReduceL1: reduce('mint.sum', 'l1'),
  ReduceL2: reduce('mint.sum', 'l2'),
  ReduceLogSum: reduce('mint.sum', 'log_sum'),
  ReduceLogSumExp: (c) => {
    const axes = axesOf(c, 1);
    if (!axes) throw new NoMapping('ReduceLogSumExp axes known only at run time');
    return c.call('mint.logsumexp', c.t(0), tuple(axes), `keepdim=${c.attrInt('keepdims', 1) ? 'True' : 'False'}`);
  },
  ArgMax: (c) => c.call('mint.argmax', c.t(0), `dim=${c.attrInt('axis', 0)}`, `keepdim=${c.attrInt('keepdims', 1) ? 'True' : 'False'}`),
  ArgMin: (c) => c.call('mint.argmin', c.t(0), `dim=${c.attrInt('axis', 0)}`, `keepdim=${c.attrInt('keepdims', 1) ? 'True' : 'False'}`),
  CumSum: (c) => {
    if (c.attrInt('exclusive', 0) || c.attrInt('reverse', 0)) throw new NoMapping('exclusive or reverse CumSum');
    const ax = c.ints(1);
    return c.call('mint.cumsum', c.t(0), ax ? String(ax[0]) : c.host(1));
  },
  TopK: topk,
  Trilu: (c) => trilu(c.attrInt('upper', 1) ? 'mint.triu' : 'mint.tril')(c),
  DepthToSpace: depthToSpace,
  NonZero: (c) => c.call('mint.transpose', c.call('mint.nonzero', c.t(0)), '0', '1'),
  SimplifiedLayerNormalization: (c) => {
    const r = c.rank(0);
    const axis = c.attrInt('axis', -1);
    if (r === null) throw new NoMapping('RMS normalisation on an input of unknown rank');
    const a = norm(axis, r);
    const dims = Array.from({ length: r - a }, (_, i) => a + i);
    const x = c.t(0);
    const ms = c.call('mint.mean', `${wrap(x)} * ${wrap(x)}`, `dim=${dims.length === 1 ? String(dims[0]) : tuple(dims)}`, 'keepdim=True');
    return `${wrap(x)} * ${c.call('mint.rsqrt', `${ms} + ${fmt(c.attrFloat('epsilon', 1e-5))}`)} * ${c.opnd(1)}`;
  },
  'com.microsoft.FusedMatMul': (c) => {
    if (c.attrInt('transBatchA', 0) || c.attrInt('transBatchB', 0)) throw new NoMapping('FusedMatMul with batch transposes');
    const a = c.attrInt('transA', 0) ? c.call('mint.transpose', c.t(0), '-1', '-2') : c.t(0);
    const b = c.attrInt('transB', 0) ? c.call('mint.transpose', c.t(1), '-1', '-2') : c.t(1);
    const alpha = c.attrFloat('alpha', 1);
    const mm = c.call('mint.matmul', a, b);
    return alpha === 1 ? mm : `${mm} * ${fmt(alpha)}`;
  },
  'com.microsoft.FusedConv': (c) => activation(c, conv(c)),
  'com.microsoft.FusedGemm': (c) => activation(c, gemm(c)),
  SequenceConstruct: (c) => `[${c.node.inputs.map((_, i) => c.t(i)).join(', ')}]`,
  SequenceAt: (c) => {
    const k = c.ints(1);
    return `${c.t(0)}[${k ? k[0] : c.host(1)}]`;
  },
  ConcatFromSequence: (c) => (c.attrInt('new_axis', 0) ? c.call('mint.stack', c.t(0), `dim=${c.attrInt('axis', 0)}`) : c.call('mint.cat', c.t(0), `dim=${c.attrInt('axis', 0)}`)),
  Attention: (c) => {
    if (c.rank(0) !== 4 || c.rank(1) !== 4 || c.rank(2) !== 4) throw new NoMapping('Attention on 3-D inputs');
    if (c.has(4) || c.has(5) || c.attrFloat('softcap', 0) !== 0) throw new NoMapping('Attention with a KV cache or softcap');
    if (c.node.outputs.slice(1).some((o) => o && o.uses.length)) throw new NoMapping('Attention with present key/value outputs');
    const q = c.shape(0);
    const k = c.shape(1);
    const d = q?.[3];
    const scale = c.node.attrs.has('scale') ? fmt(c.attrFloat('scale', 1)) : typeof d === 'number' ? fmt(1 / Math.sqrt(d)) : `${wrap(c.t(0))}.shape[3] ** -0.5`;
    let key = c.t(1);
    let value = c.t(2);
    const hq = q?.[1];
    const hk = k?.[1];
    if (typeof hq === 'number' && typeof hk === 'number' && hq !== hk) {
      key = c.call('mint.repeat_interleave', key, String(hq / hk), 'dim=1');
      value = c.call('mint.repeat_interleave', value, String(hq / hk), 'dim=1');
    } else if (hq !== hk) throw new NoMapping('grouped-query Attention with unknown head counts');
    const args = [c.t(0), key, value, scale];
    if (c.attrInt('is_causal', 0)) {
      if (c.has(3)) throw new NoMapping('causal Attention with a mask');
      const causal = c.call('mint.tril', c.call('mint.ones', `(${wrap(c.t(0))}.shape[2], ${wrap(c.t(1))}.shape[2])`, 'dtype=ms.bool_'));
      args.push(`mask=${causal}`);
    } else if (c.has(3)) args.push(`mask=${c.t(3)}`);
    return `${c.helper('scaled_dot_product_attention')}(${args.join(', ')})`;
  },
  'msgraph.scaled_dot_product_attention': (c) => {
    const key = c.attrInt('key_transposed', 0) ? c.call('mint.transpose', c.t(1), '-1', '-2') : c.t(1);
    const args = [c.t(0), key, c.t(2), fmt(c.attrFloat('scale', 1))];
    if (c.has(3)) args.push(`mask=${c.t(3)}`);
    return `${c.helper('scaled_dot_product_attention')}(${args.join(', ')})`;
  },
  LSTM: rnn('lstm'),
  GRU: rnn('gru'),
  RNN: rnn('rnn'),
};

/** Ops whose result is an alias of input 0. */
export const ALIAS_OPS = new Set(['Identity', 'Dropout']);

/**
 * Shape arithmetic on the host: ops that, given host (Python int/tuple) operands, produce a host value.
 * Returns null when the op cannot stay on the host.
 */
export function hostExpr(op: string, c: OpCtx, inputIsHost: (i: number) => boolean, outScalar: boolean): string | null {
  const lit = (i: number): string | null => {
    const k = c.ints(i);
    if (!k) return inputIsHost(i) ? c.host(i) : null;
    return c.rank(i) === 0 ? String(k[0]) : tuple(k);
  };
  const isScalar = (i: number) => c.rank(i) === 0;
  switch (op) {
    case 'Shape': {
      const start = c.attrInt('start', 0);
      const endA = c.node.attrs.get('end');
      const base = `${wrap(c.t(0))}.shape`;
      if (start === 0 && !endA) return base;
      return `${base}[${start === 0 ? '' : start}:${endA ? Number(endA.value) : ''}]`;
    }
    case 'Size':
      return `${wrap(c.t(0))}.numel()`;
    case 'Identity':
    case 'Cast':
      return lit(0);
    case 'Gather': {
      const data = lit(0);
      const idx = c.ints(1);
      if (!data || !idx || c.attrInt('axis', 0) !== 0) return null;
      if (c.rank(1) === 0) return `${wrap(data)}[${idx[0]}]`;
      if (idx.length === 1) return `(${wrap(data)}[${idx[0]}],)`;
      return tuple(idx.map((i) => `${wrap(data)}[${i}]`));
    }
    case 'Unsqueeze': {
      const x = lit(0);
      if (!x || !isScalar(0)) return null;
      return `(${x},)`;
    }
    case 'Squeeze': {
      const x = lit(0);
      if (!x || !outScalar) return null;
      return `${wrap(x)}[0]`;
    }
    case 'Concat': {
      const parts = c.node.inputs.map((_, i) => lit(i));
      if (parts.some((p) => p === null)) return null;
      return joinTuples(parts as string[]);
    }
    case 'Slice': {
      const x = lit(0);
      const s = c.attrInts('starts') ?? c.ints(1);
      const e = c.attrInts('ends') ?? c.ints(2);
      const steps = c.attrInts('steps') ?? (c.has(4) ? c.ints(4) : [1]);
      if (!x || !s || !e || s.length !== 1 || !steps || steps[0] !== 1) return null;
      return `${wrap(x)}[${s[0] === 0 ? '' : s[0]}:${e[0]! >= INT_MAX / 4 ? '' : e[0]}]`;
    }
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
    case 'Mod': {
      if (!outScalar) {
        const a = lit(0);
        const b = lit(1);
        if (!a || !b) return null;
        const sym = { Add: '+', Sub: '-', Mul: '*', Div: '//', Mod: '%' }[op];
        return elementwise(a, b, isScalar(0), isScalar(1), (p, q) => `${p} ${sym} ${q}`);
      }
      const a = lit(0);
      const b = lit(1);
      if (!a || !b) return null;
      const sym = { Add: '+', Sub: '-', Mul: '*', Div: '//', Mod: '%' }[op];
      return `${wrap(a)} ${sym} ${wrap(b)}`;
    }
    case 'Equal': {
      const a = lit(0);
      const b = lit(1);
      if (!a || !b) return null;
      if (outScalar) return `${wrap(a)} == ${wrap(b)}`;
      return elementwise(a, b, isScalar(0), isScalar(1), (p, q) => `${p} == ${q}`);
    }
    case 'Where': {
      const [cnd, a, b] = [lit(0), lit(1), lit(2)];
      if (!cnd || !a || !b) return null;
      if (outScalar) return `${wrap(a)} if ${wrap(cnd)} else ${wrap(b)}`;
      const at = (x: string, i: number) => (isScalar(i) ? wrap(x) : `${wrap(x)}[i]`);
      return `tuple(${at(a, 1)} if ${wrap(cnd)}[i] else ${at(b, 2)} for i in range(len(${cnd})))`;
    }
    default:
      return null;
  }
}

/** A tuple built element by element (GRAPH_MODE has no zip): `tuple(a[i] * b[i] for i in range(len(a)))`. */
function elementwise(a: string, b: string, aScalar: boolean, bScalar: boolean, f: (p: string, q: string) => string): string {
  const len = aScalar ? b : a;
  return `tuple(${f(aScalar ? wrap(a) : `${wrap(a)}[i]`, bScalar ? wrap(b) : `${wrap(b)}[i]`)} for i in range(len(${len})))`;
}

/** `(a,) + (b, c) + x.shape[2:]` -> `(a, b, c) + x.shape[2:]`. */
function joinTuples(parts: string[]): string {
  const out: string[] = [];
  let run: string[] | null = null;
  for (const p of parts) {
    const m = /^\((.*?),?\)$/.exec(p);
    if (m && balanced(m[1]!)) {
      run = run ?? [];
      run.push(...splitTop(m[1]!));
      continue;
    }
    if (run) out.push(tuple(run));
    run = null;
    out.push(/^[\w.]+(\[[^\]]*\])?$/.test(p) ? p : `(${p})`);
  }
  if (run) out.push(tuple(run));
  return out.join(' + ');
}

function balanced(s: string): boolean {
  let d = 0;
  for (const ch of s) {
    if (ch === '(' || ch === '[') d++;
    else if (ch === ')' || ch === ']') d--;
    if (d < 0) return false;
  }
  return d === 0;
}

function splitTop(s: string): string[] {
  const out: string[] = [];
  let d = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(' || ch === '[') d++;
    if (ch === ')' || ch === ']') d--;
    if (ch === ',' && d === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

export const HOST_OPS = new Set(['Shape', 'Size', 'Identity', 'Cast', 'Gather', 'Unsqueeze', 'Squeeze', 'Concat', 'Slice', 'Add', 'Sub', 'Mul', 'Div', 'Mod', 'Equal', 'Where']);

export type { Value };
