/** Emitters for convolution, pooling, normalisation, resizing, products and recurrent ops. */
import { NoMapping, wrap, tuple, compact, norm, type OpCtx, type OpEmitter } from './op-context.js';
import { convOptions, symmetricPads, fmt } from './layers.js';
import { pyString } from './python.js';

export function padsTorch(pads: number[]): number[] {
  // ONNX: [b0, b1, ..., e0, e1, ...]; torch: last dim first, (begin, end) pairs.
  const n = pads.length / 2;
  const out: number[] = [];
  for (let i = n - 1; i >= 0; i--) out.push(pads[i]!, pads[i + n]!);
  // Trailing (leading-dim) zero pairs are dropped.
  while (out.length > 2 && out[out.length - 1] === 0 && out[out.length - 2] === 0) out.length -= 2;
  return out;
}

export function convPads(c: OpCtx, spatial: number): { pre: number[] | null; padding: number[] } {
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

export function conv(c: OpCtx): string {
  const w = c.shape(1);
  const spatial = w ? w.length - 2 : (c.rank(0) ?? 4) - 2;
  const { pre, padding } = convPads(c, spatial);
  let x = c.t(0);
  if (pre) x = c.call('mint.nn.functional.pad', x, tuple(pre));
  const args = [x, c.t(1), c.has(2) ? c.t(2) : 'None'];
  const options = convOptions(c.node, spatial, padding);
  if (!c.apiHas(`mint.nn.functional.conv${spatial}d`)) {
    // Before 2.5 (mint's conv arrives then): ops.convNd, whose explicit padding is per side ((top, bottom, left, right)).
    const kw = options.flatMap(([k, v]) => (k === 'padding' ? ['pad_mode="pad"', `padding=${tuple(padding.flatMap((p) => [p, p]))}`] : [`${k}=${v}`]));
    return c.call(`ops.conv${spatial}d`, ...args, ...kw);
  }
  return c.call(`mint.nn.functional.conv${spatial}d`, ...args, ...options.map(([k, v]) => `${k}=${v}`));
}

export function convTranspose(c: OpCtx): string {
  const w = c.shape(1);
  const spatial = w ? w.length - 2 : 2;
  if (spatial !== 2) throw new NoMapping(`ConvTranspose with ${spatial} spatial dims (mint has conv_transpose2d only)`);
  if (c.node.attrs.has('output_shape')) throw new NoMapping('ConvTranspose with output_shape');
  const pads = symmetricPads(c.node, spatial);
  if (!pads) throw new NoMapping('ConvTranspose with asymmetric or automatic padding');
  const kw = convOptions(c.node, spatial, pads, true).map(([k, v]) => `${k}=${v}`);
  return c.call('mint.nn.functional.conv_transpose2d', c.t(0), c.t(1), c.has(2) ? c.t(2) : 'None', ...kw);
}

export function pool(kind: 'max' | 'avg'): OpEmitter {
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

export function globalPool(api: string): OpEmitter {
  return (c) => {
    const r = c.rank(0);
    if (r === null) throw new NoMapping('input rank unknown');
    const dims = Array.from({ length: r - 2 }, (_, i) => i + 2);
    return c.call(api, c.t(0), `dim=${tuple(dims)}`, 'keepdim=True');
  };
}

export function softmax(name: string): OpEmitter {
  return (c) => {
    // mint.softmax arrives in 2.5.0; mint.nn.functional.softmax is in every version.
    const api = name === 'mint.softmax' && !c.apiHas(name) ? 'mint.nn.functional.softmax' : name;
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

export function resize(c: OpCtx): string {
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


export function gemm(c: OpCtx): string {
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

export function instanceNorm(c: OpCtx): string {
  const s = c.shape(1);
  const ch = s?.[0];
  if (typeof ch !== 'number') throw new NoMapping('InstanceNormalization with an unknown channel count');
  return c.call('mint.nn.functional.group_norm', c.t(0), String(ch), c.t(1), c.t(2), fmt(c.attrFloat('epsilon', 1e-5)));
}

export function layerNorm(c: OpCtx): string {
  const r = c.rank(0);
  let axis = c.attrInt('axis', -1);
  if (r === null) throw new NoMapping('LayerNormalization on an input of unknown rank');
  axis = norm(axis, r);
  const shape = `${wrap(c.t(0))}.shape[${axis}:]`;
  return c.call('mint.nn.functional.layer_norm', c.t(0), shape, c.t(1), c.has(2) ? c.t(2) : 'None', fmt(c.attrFloat('epsilon', 1e-5)));
}

export function batchNorm(c: OpCtx): string {
  return c.call('mint.nn.functional.batch_norm', c.t(0), c.t(3), c.t(4), c.t(1), c.t(2), 'training=False', `eps=${fmt(c.attrFloat('epsilon', 1e-5))}`);
}


export function rnn(kind: 'lstm' | 'gru' | 'rnn'): OpEmitter {
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

export function gridSample(c: OpCtx): string {
  const mode = c.attrStr('mode', 'bilinear');
  const ms = mode === 'linear' ? 'bilinear' : mode === 'cubic' ? 'bicubic' : mode;
  return c.call('mint.nn.functional.grid_sample', c.t(0), c.t(1), `mode=${pyString(ms)}`, `padding_mode=${pyString(c.attrStr('padding_mode', 'zeros'))}`, `align_corners=${c.attrInt('align_corners', 0) ? 'True' : 'False'}`);
}


export function activation(c: OpCtx, e: string): string {
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

