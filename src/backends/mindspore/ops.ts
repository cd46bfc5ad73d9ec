/**
 * One Python expression per op, in mint API terms. Each emitter gets an OpCtx that renders operands (tensors,
 * Python scalars for scalar constants, host tuples/ints for shape arithmetic) and records every API it calls so
 * the call can be checked against the target MindSpore version. Ops with no mapping throw `NoMapping`; the caller
 * then emits a marked fallback.
 */
import { NoMapping, wrap, norm, axesOf, tuple, binary, fn, cmp, variadic, type OpEmitter } from './op-context.js';
import { fmt } from './layers.js';
import { pyString } from './python.js';
import type { DialectOp } from '../../dialect/op-names.js';

/** Ops the dialect leaves in onnxruntime's domain (written by the ONNX Runtime lowering, read back from its output). */
type ForeignOp = 'com.microsoft.FusedMatMul' | 'com.microsoft.FusedConv' | 'com.microsoft.FusedGemm';
import { activation, batchNorm, conv, convTranspose, gemm, globalPool, gridSample, instanceNorm, layerNorm, pool, resize, rnn, softmax } from './ops-nn.js';
import { cast, clip, concat, constantOfShape, depthToSpace, div, einsum, expand, flatten, gather, hardSigmoid, mod, pad, pow, range, reduce, reshape, slice, split, squeeze, topk, transpose, trilu, unsqueeze, where } from './ops-shape.js';

export { NoMapping, type OpCtx, type OpEmitter } from './op-context.js';
export { hostExpr, HOST_OPS } from './ops-host.js';

/** Emitters by dialect op (ops that stay in another domain by their qualified name). */
export const OP_EMITTERS: { [K in DialectOp | ForeignOp]?: OpEmitter } = {
  'mint.add': binary('+', 'mint.add'),
  'mint.sub': binary('-', 'mint.sub'),
  'mint.mul': binary('*', 'mint.mul'),
  'mint.div': div,
  'mint.pow': pow,
  'mint.fmod': (c) => mod(c.attrInt('fmod', 0) ? 'mint.fmod' : 'mint.remainder')(c),
  'mint.eq': cmp('mint.eq'),
  'mint.lt': cmp('mint.lt'),
  'mint.gt': cmp('mint.gt'),
  'mint.le': cmp('mint.le'),
  'mint.greater_equal': cmp('mint.greater_equal'),
  'mint.logical_and': (c) => c.call('mint.logical_and', c.t(0), c.t(1)),
  'mint.logical_or': (c) => c.call('mint.logical_or', c.t(0), c.t(1)),
  'mint.logical_xor': (c) => c.call('mint.logical_xor', c.t(0), c.t(1)),
  'mint.logical_not': fn('mint.logical_not'),
  'mint.minimum': variadic('mint.minimum'),
  'mint.maximum': variadic('mint.maximum'),
  'msgraph.sum': (c) => c.node.inputs.map((_, i) => c.opnd(i)).join(' + '),
  'msgraph.mean': (c) => `(${c.node.inputs.map((_, i) => c.opnd(i)).join(' + ')}) / ${c.node.inputs.length}`,
  'mint.abs': fn('mint.abs'),
  'mint.neg': fn('mint.neg'),
  'mint.exp': fn('mint.exp'),
  'mint.log': fn('mint.log'),
  'mint.sqrt': fn('mint.sqrt'),
  'mint.reciprocal': fn('mint.reciprocal'),
  'mint.floor': fn('mint.floor'),
  'mint.ceil': fn('mint.ceil'),
  'mint.round': fn('mint.round'),
  'mint.sign': fn('mint.sign'),
  'mint.sin': fn('mint.sin'),
  'mint.cos': fn('mint.cos'),
  'mint.tan': fn('mint.tan'),
  'mint.tanh': fn('mint.tanh'),
  'mint.erf': fn('mint.erf'),
  'mint.sigmoid': fn('mint.sigmoid'),
  'mint.isnan': fn('mint.isnan'),
  'mint.nn.functional.relu': fn('mint.nn.functional.relu'),
  'mint.nn.functional.hardswish': fn('mint.nn.functional.hardswish'),
  'mint.nn.functional.hardsigmoid': hardSigmoid,
  'mint.nn.functional.softplus': fn('mint.nn.functional.softplus'),
  'mint.nn.functional.mish': fn('mint.nn.functional.mish'),
  'mint.nn.functional.elu': (c) => c.call('mint.nn.functional.elu', c.t(0), `alpha=${fmt(c.attrFloat('alpha', 1))}`),
  'mint.nn.functional.leaky_relu': (c) => c.call('mint.nn.functional.leaky_relu', c.t(0), fmt(c.attrFloat('alpha', 0.01))),
  'mint.nn.functional.selu': fn('mint.nn.functional.selu'),
  'mint.nn.functional.silu': fn('mint.nn.functional.silu'),
  'msgraph.rotary_embedding': (c) => `${c.helper('rotary_embedding')}(${c.t(0)}, ${c.t(1)}, ${c.t(2)})`,
  'msgraph.geglu': (c) => `${c.helper('geglu')}(${c.t(0)}${c.attrStr('approximate', 'none') === 'none' ? '' : `, ${pyString(c.attrStr('approximate', 'none'))}`})`,
  'mint.nn.functional.gelu': (c) => (c.attrStr('approximate', 'none') === 'none' ? c.call('mint.nn.functional.gelu', c.t(0)) : c.call('mint.nn.functional.gelu', c.t(0), `approximate=${pyString(c.attrStr('approximate', 'none'))}`)),
  'mint.nn.functional.prelu': (c) => c.call('mint.where', `${c.opnd(0)} >= 0`, c.t(0), `${c.opnd(0)} * ${c.opnd(1)}`),
  'mint.softmax': softmax('mint.softmax'),
  'mint.nn.functional.log_softmax': softmax('mint.nn.functional.log_softmax'),
  'mint.clamp': clip,
  'ops.cast': cast,
  'msgraph.cast_like': cast,
  'mint.matmul': (c) => (c.transposedWeight(1) ? c.call('mint.nn.functional.linear', c.t(0), c.t(1)) : c.call('mint.matmul', c.t(0), c.t(1))),
  'mint.nn.functional.linear': gemm,
  'mint.einsum': einsum,
  'mint.nn.functional.conv1d': conv,
  'mint.nn.functional.conv_transpose1d': convTranspose,
  'mint.nn.functional.max_pool1d': pool('max'),
  'mint.nn.functional.avg_pool1d': pool('avg'),
  'msgraph.global_avg_pool': globalPool('mint.mean'),
  'msgraph.global_max_pool': globalPool('mint.amax'),
  'mint.nn.functional.batch_norm': batchNorm,
  'msgraph.instance_norm': instanceNorm,
  'mint.nn.functional.layer_norm': layerNorm,
  'mint.nn.functional.group_norm': (c) => {
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
  'mint.nn.functional.interpolate': resize,
  'mint.nn.functional.grid_sample': gridSample,
  'msgraph.slice': slice,
  'mint.index_select': gather,
  'mint.gather': (c) => c.call('mint.gather', c.t(0), String(c.attrInt('axis', 0)), c.t(1)),
  'msgraph.gather_nd': (c) => {
    if (c.attrInt('batch_dims', 0) !== 0) throw new NoMapping('GatherND with batch_dims');
    return `${c.helper('gather_nd')}(${c.t(0)}, ${c.t(1)})`;
  },
  'msgraph.scatter_nd': (c) => {
    if (c.attrStr('reduction', 'none') !== 'none') throw new NoMapping('ScatterND with a reduction');
    return `${c.helper('scatter_nd')}(${c.t(0)}, ${c.t(1)}, ${c.t(2)})`;
  },
  'mint.scatter': (c) => {
    const red = c.attrStr('reduction', 'none');
    if (red === 'add') return c.call('mint.scatter_add', c.t(0), String(c.attrInt('axis', 0)), c.t(1), c.t(2));
    if (red !== 'none') throw new NoMapping(`ScatterElements with reduction ${red}`);
    return c.call('mint.scatter', c.t(0), String(c.attrInt('axis', 0)), c.t(1), c.t(2));
  },
  'mint.where': where,
  'mint.broadcast_to': expand,
  'mint.tile': (c) => c.call('mint.tile', c.t(0), c.ints(1) ? tuple(c.ints(1)!) : c.host(1)),
  'mint.arange': range,
  'msgraph.constant_of_shape': constantOfShape,
  'mint.reshape': reshape,
  'mint.flatten': flatten,
  'mint.permute': transpose,
  'mint.unsqueeze': unsqueeze,
  'mint.squeeze': squeeze,
  'mint.cat': concat,
  'mint.split': split,
  'mint.nn.functional.pad': pad,
  'mint.mean': reduce('mint.mean'),
  'mint.sum': reduce('mint.sum'),
  'mint.amax': reduce('mint.amax'),
  'mint.amin': reduce('mint.amin'),
  'mint.prod': reduce('mint.prod'),
  'msgraph.reduce_sum_square': reduce('mint.sum', 'sum_square'),
  'msgraph.reduce_l1': reduce('mint.sum', 'l1'),
  'msgraph.reduce_l2': reduce('mint.sum', 'l2'),
  'msgraph.reduce_log_sum': reduce('mint.sum', 'log_sum'),
  'mint.logsumexp': (c) => {
    const axes = axesOf(c, 1);
    if (!axes) throw new NoMapping('ReduceLogSumExp axes known only at run time');
    return c.call('mint.logsumexp', c.t(0), tuple(axes), `keepdim=${c.attrInt('keepdims', 1) ? 'True' : 'False'}`);
  },
  'mint.argmax': (c) => c.call('mint.argmax', c.t(0), `dim=${c.attrInt('axis', 0)}`, `keepdim=${c.attrInt('keepdims', 1) ? 'True' : 'False'}`),
  'mint.argmin': (c) => c.call('mint.argmin', c.t(0), `dim=${c.attrInt('axis', 0)}`, `keepdim=${c.attrInt('keepdims', 1) ? 'True' : 'False'}`),
  'mint.cumsum': (c) => {
    if (c.attrInt('exclusive', 0) || c.attrInt('reverse', 0)) throw new NoMapping('exclusive or reverse CumSum');
    const ax = c.ints(1);
    return c.call('mint.cumsum', c.t(0), ax ? String(ax[0]) : c.host(1));
  },
  'mint.topk': topk,
  'mint.triu': (c) => trilu(c.attrInt('upper', 1) ? 'mint.triu' : 'mint.tril')(c),
  'msgraph.depth_to_space': depthToSpace,
  'mint.nonzero': (c) => c.call('mint.transpose', c.call('mint.nonzero', c.t(0)), '0', '1'),
  'msgraph.rms_norm': (c) => {
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
  'msgraph.sequence_construct': (c) => `[${c.node.inputs.map((_, i) => c.t(i)).join(', ')}]`,
  'msgraph.sequence_at': (c) => {
    const k = c.ints(1);
    return `${c.t(0)}[${k ? k[0] : c.host(1)}]`;
  },
  'msgraph.concat_from_sequence': (c) => (c.attrInt('new_axis', 0) ? c.call('mint.stack', c.t(0), `dim=${c.attrInt('axis', 0)}`) : c.call('mint.cat', c.t(0), `dim=${c.attrInt('axis', 0)}`)),
  'msgraph.attention': (c) => {
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
  'msgraph.multi_head_attention': (c) => {
    const heads = c.attrInt('num_heads', 1);
    const width = c.shape(0)?.[2];
    const scale = c.attrFloat('scale', 1);
    // head_dim ** -0.5 is the helper's default; another scale is written out.
    const canonical = typeof width === 'number' && Math.abs(scale - (width / heads) ** -0.5) <= 1e-6 * scale;
    const args = [c.t(0), c.t(1), c.t(2), String(heads), ...(canonical ? [] : [`scale=${fmt(scale)}`]), ...(c.has(3) ? [`mask=${c.t(3)}`] : [])];
    c.helper('scaled_dot_product_attention');
    return `${c.helper('multi_head_attention')}(${args.join(', ')})`;
  },
  'msgraph.scaled_dot_product_attention': (c) => {
    const key = c.attrInt('key_transposed', 0) ? c.call('mint.transpose', c.t(1), '-1', '-2') : c.t(1);
    const args = [c.t(0), key, c.t(2), fmt(c.attrFloat('scale', 1))];
    if (c.has(3)) args.push(`mask=${c.t(3)}`);
    return `${c.helper('scaled_dot_product_attention')}(${args.join(', ')})`;
  },
  'msgraph.lstm': rnn('lstm'),
  'msgraph.gru': rnn('gru'),
  'msgraph.rnn': rnn('rnn'),
};

/** Dialect ops written by the emitter of another (one ONNX op, several dialect names by form). */
for (const [name, like] of [['mint.remainder', 'mint.fmod'], ['mint.addmm', 'mint.nn.functional.linear'], ['mint.nn.functional.conv2d', 'mint.nn.functional.conv1d'], ['mint.nn.functional.conv3d', 'mint.nn.functional.conv1d'], ['mint.nn.functional.conv_transpose2d', 'mint.nn.functional.conv_transpose1d'], ['mint.nn.functional.conv_transpose3d', 'mint.nn.functional.conv_transpose1d'], ['mint.nn.functional.max_pool2d', 'mint.nn.functional.max_pool1d'], ['mint.nn.functional.max_pool3d', 'mint.nn.functional.max_pool1d'], ['mint.nn.functional.avg_pool2d', 'mint.nn.functional.avg_pool1d'], ['mint.nn.functional.avg_pool3d', 'mint.nn.functional.avg_pool1d'], ['mint.tril', 'mint.triu']] as [DialectOp, DialectOp][]) OP_EMITTERS[name] = OP_EMITTERS[like];

/** Ops whose result is an alias of input 0. */
export const ALIAS_OPS = new Set<string>(['msgraph.identity', 'msgraph.dropout'] satisfies DialectOp[]);
