/** Emitters for shape, indexing, reduction and element-wise ops that need more than one call. */
import { MsgraphError } from '../../errors.js';
import { NoMapping, INT_MAX, isInt, wrap, tuple, norm, axesOf, binary, type OpCtx, type OpEmitter } from './op-context.js';
import { fmt } from './layers.js';
import { pyString } from './python.js';
import { padsTorch } from './ops-nn.js';
import { element, splitTop } from './ops-host.js';

export function reduce(api: string, op: 'plain' | 'sum_square' | 'l1' | 'l2' | 'log_sum' = 'plain'): OpEmitter {
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


export function slice(c: OpCtx): string {
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
      const s = starts ? String(Math.min(Math.max(starts[i]!, -INT_MAX), INT_MAX)) : element(c.host(1), i);
      const e = ends ? String(Math.min(Math.max(ends[i]!, -INT_MAX), INT_MAX)) : element(c.host(2), i);
      if (st === -1 && starts && ends && starts[i]! >= INT_MAX / 4 && ends[i]! <= -INT_MAX / 4) reversed.push(`mint.flip(%, dims=${tuple([ax])})`);
      else reversed.push(`${c.helper('slice_backwards')}(%, ${ax}, ${s}, ${e}, ${st})`);
      continue;
    }
    const s = starts ? String(starts[i]) : element(c.host(1), i);
    const e = ends ? (ends[i]! >= INT_MAX / 4 ? '' : String(Math.max(ends[i]!, -INT_MAX))) : element(c.host(2), i);
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

/** No tensor has more dims than this (MindSpore allows 8). */
const MAX_RANK = 64;

export function gather(c: OpCtx): string {
  const r = c.rank(0);
  let axis = c.attrInt('axis', 0);
  if (r !== null) axis = norm(axis, r);
  const known = c.ints(1);
  const idxRank = c.rank(1);
  if (axis < 0) throw new NoMapping('Gather with a negative axis on an input of unknown rank');
  if (axis >= MAX_RANK) throw new MsgraphError('model', `Gather axis ${axis} is out of range for any tensor`);
  const pre = Array.from({ length: axis }, () => ':');
  if (known && idxRank === 0) return `${wrap(c.t(0))}[${[...pre, String(known[0])].join(', ')}]`;
  return `${c.helper('gather')}(${c.t(0)}, ${c.t(1)}, ${axis})`;
}

export function reshape(c: OpCtx): string {
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

export function transpose(c: OpCtx): string {
  const r = c.rank(0);
  const perm = c.attrInts('perm') ?? (r !== null ? Array.from({ length: r }, (_, i) => r - 1 - i) : null);
  if (!perm) throw new NoMapping('Transpose without perm on an input of unknown rank');
  const moved = perm.map((p, i) => (p !== i ? i : -1)).filter((i) => i >= 0);
  if (moved.length === 0) return c.t(0);
  if (moved.length === 2 && perm[moved[0]!] === moved[1]) return c.call('mint.transpose', c.t(0), String(moved[0]), String(moved[1]));
  return c.call('mint.permute', c.t(0), tuple(perm));
}

export function unsqueeze(c: OpCtx): string {
  const axes = axesOf(c, 1);
  const inRank = c.rank(0);
  const r = c.outRank(0) ?? (inRank !== null && axes ? inRank + axes.length : null);
  if (!axes) throw new NoMapping('Unsqueeze axes known only at run time');
  // mint.unsqueeze arrives in 2.4.0; before, the Tensor method.
  const one = (x: string, a: number) => (c.apiHas('mint.unsqueeze') ? c.call('mint.unsqueeze', x, String(a)) : `${wrap(x)}.unsqueeze(${a})`);
  if (r === null && axes.length === 1) return one(c.t(0), axes[0]!);
  const sorted = axes.map((a) => (r !== null ? norm(a, r) : a)).sort((a, b) => a - b);
  if (sorted.some((a) => a < 0)) throw new NoMapping('Unsqueeze with negative axes and unknown rank');
  let e = c.t(0);
  for (const a of sorted) e = one(e, a);
  return e;
}

export function squeeze(c: OpCtx): string {
  const r = c.rank(0);
  let axes = axesOf(c, 1);
  if (!axes) {
    const s = c.shape(0);
    if (!s || s.some((d) => typeof d !== 'number')) throw new NoMapping('Squeeze without axes on a dynamic shape');
    axes = s.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
  }
  if (r !== null) axes = axes.map((a) => norm(a, r));
  let e = c.t(0);
  // mint.squeeze arrives in 2.5.0; before, ops.squeeze.
  for (const a of [...axes].sort((x, y) => y - x)) e = c.apiHas('mint.squeeze') ? c.call('mint.squeeze', e, String(a)) : c.call('ops.squeeze', e, String(a));
  return e;
}

export function split(c: OpCtx): string {
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

export function concat(c: OpCtx): string {
  const items = c.node.inputs.map((_, i) => i).filter((i) => c.has(i)).map((i) => c.t(i));
  return c.call('mint.cat', tuple(items), `dim=${c.attrInt('axis', 0)}`);
}

export function pad(c: OpCtx): string {
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

export function clip(c: OpCtx): string {
  const lo = c.node.attrs.has('min') ? fmt(c.attrFloat('min', 0)) : c.has(1) ? c.scalar(1) ?? c.t(1) : null;
  const hi = c.node.attrs.has('max') ? fmt(c.attrFloat('max', 0)) : c.has(2) ? c.scalar(2) ?? c.t(2) : null;
  if (lo === null && hi === null) return c.t(0);
  const intTyped = isInt(c.dtype(0));
  const conv = (s: string | null) => (s !== null && intTyped && /^-?\d+\.0$/.test(s) ? s.replace('.0', '') : s);
  return c.call('mint.clamp', c.t(0), conv(lo) ?? 'None', conv(hi) ?? 'None');
}

export function cast(c: OpCtx): string {
  const code = c.attrInt('to', 0);
  const to = c.outDtype(0) ?? (code ? c.dtypeOfOnnx(code) : null);
  if (!to) throw new NoMapping('Cast to an unknown type');
  if (to === c.dtype(0)) return c.t(0);
  return `${wrap(c.t(0))}.astype(${c.msType(to)})`;
}

export function where(c: OpCtx): string {
  const lit = (i: number) => {
    const s = c.scalar(i);
    return s !== null && c.rank(i) === 0 ? `ms.Tensor(${s}, ${c.msType(c.dtype(i) ?? 'float32')})` : c.t(i);
  };
  return c.call('mint.where', c.t(0), lit(1), lit(2));
}

export function expand(c: OpCtx): string {
  // A shape written out (`(batch, 1, 1)`) is what broadcast_to takes, with -1 where ONNX's 1 keeps the input's dim
  // (torch's `expand(batch, -1, -1)`); the helper takes the rest (a shorter shape, one known only as a value).
  const shape = c.host(1);
  const m = /^\((.*?),?\)$/.exec(shape);
  const parts = m ? splitTop(m[1]!) : null;
  const r = c.rank(0);
  if (parts && r !== null && parts.length >= r && c.apiHas('mint.broadcast_to')) {
    const lead = parts.length - r;
    return c.call('mint.broadcast_to', c.t(0), tuple(parts.map((p, i) => (i >= lead && p === '1' ? '-1' : p))));
  }
  return `${c.helper('expand')}(${c.t(0)}, ${shape})`;
}

export function constantOfShape(c: OpCtx): string {
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

export function range(c: OpCtx): string {
  const dtype = c.outDtype(0) ?? 'int64';
  const v = (i: number) => {
    const k = c.ints(i);
    return k ? String(k[0]) : c.host(i);
  };
  return c.call('mint.arange', v(0), v(1), v(2), `dtype=${c.msType(dtype)}`);
}

export function flatten(c: OpCtx): string {
  const r = c.rank(0);
  let axis = c.attrInt('axis', 1);
  if (r !== null) axis = norm(axis, r);
  if (axis === 0) return `${wrap(c.t(0))}.reshape(1, -1)`;
  if (axis === 1) return c.call('mint.flatten', c.t(0), '1');
  return c.call('mint.flatten', c.call('mint.flatten', c.t(0), String(axis)), '0', String(axis - 1));
}


export function depthToSpace(c: OpCtx): string {
  const b = c.attrInt('blocksize', 1);
  // pixel_shuffle (CRD) arrives in 2.6.0; before, the same reshape / permute as DCR in CRD's order.
  if (c.attrStr('mode', 'DCR') === 'CRD') return c.apiHas('mint.nn.functional.pixel_shuffle') ? c.call('mint.nn.functional.pixel_shuffle', c.t(0), String(b)) : `${c.helper('depth_to_space_crd')}(${c.t(0)}, ${b})`;
  return `${c.helper('depth_to_space_dcr')}(${c.t(0)}, ${b})`;
}

export function topk(c: OpCtx): string {
  const k = c.node.attrs.has('k') ? String(c.attrInt('k', 1)) : c.ints(1) ? String(c.ints(1)![0]) : element(c.host(1), 0);
  c.multi(2);
  // A stable sort keeps ONNX's tie order (lower index first), which mint.topk does not promise.
  return `${c.helper('topk')}(${c.t(0)}, ${k}, ${c.attrInt('axis', -1)}, ${c.attrInt('largest', 1) ? 'True' : 'False'})`;
}

export function trilu(api: string): OpEmitter {
  return (c) => {
    const k = c.has(1) ? (c.ints(1) ? String(c.ints(1)![0]) : c.host(1)) : '0';
    return k === '0' ? c.call(api, c.t(0)) : c.call(api, c.t(0), k);
  };
}

export function hardSigmoid(c: OpCtx): string {
  const alpha = c.attrFloat('alpha', 0.2);
  const beta = c.attrFloat('beta', 0.5);
  if (Math.abs(alpha - 1 / 6) < 1e-7 && beta === 0.5) return c.call('mint.nn.functional.hardsigmoid', c.t(0));
  return c.call('mint.clamp', `${wrap(c.t(0))} * ${fmt(alpha)} + ${fmt(beta)}`, '0.0', '1.0');
}

export function div(c: OpCtx): string {
  if (isInt(c.outDtype(0))) return c.call('mint.div', c.t(0), c.scalar(1) ?? c.t(1), 'rounding_mode="trunc"');
  return binary('/', 'mint.div')(c);
}

export function pow(c: OpCtx): string {
  const e = c.scalar(1);
  if (e !== null) return `${c.opnd(0)} ** ${e.replace(/\.0$/, '') === '2' ? '2' : e}`;
  return c.call('mint.pow', c.t(0), c.t(1));
}

export function mod(api: string): OpEmitter {
  return (c) => c.call(api, c.t(0), c.scalar(1) ?? c.t(1));
}


export function einsum(c: OpCtx): string {
  const items = c.node.inputs.map((_, i) => c.t(i));
  return c.call('mint.einsum', pyString(c.attrStr('equation', '')), ...items);
}

/** The activation of com.microsoft's fused Conv/Gemm. */
