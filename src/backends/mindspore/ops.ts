/**
 * One Python expression per op, in mint API terms. Each emitter gets an OpCtx that renders operands (tensors,
 * Python scalars for scalar constants, host tuples/ints for shape arithmetic) and records every API it calls so
 * the call can be checked against the target MindSpore version. Ops with no mapping throw `NoMapping`; the caller
 * then emits a marked fallback.
 */
import { NoMapping, wrap, norm, axesOf, tuple, binary, fn, cmp, variadic, type OpEmitter } from './op-context.js';
import { fmt } from './layers.js';
import { pyString } from './python.js';
import { activation, batchNorm, conv, convTranspose, gemm, globalPool, gridSample, instanceNorm, layerNorm, pool, resize, rnn, softmax } from './ops-nn.js';
import { cast, clip, concat, constantOfShape, depthToSpace, div, einsum, expand, flatten, gather, hardSigmoid, mod, pad, pow, range, reduce, reshape, slice, split, squeeze, topk, transpose, trilu, unsqueeze, where } from './ops-shape.js';

export { NoMapping, type OpCtx, type OpEmitter } from './op-context.js';
export { hostExpr, HOST_OPS } from './ops-host.js';

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
  'msgraph.geglu': (c) => `${c.helper('geglu')}(${c.t(0)}${c.attrStr('approximate', 'none') === 'none' ? '' : `, ${pyString(c.attrStr('approximate', 'none'))}`})`,
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
