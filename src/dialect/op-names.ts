/**
 * Every op name of the mint dialect, as a type: patterns and emitters keyed by these names are checked by the compiler
 * (a misspelt op is a type error, not a pattern that never matches). The list is what names.ts derives from the op
 * tables, plus the spatial forms and the fused ops; a unit test fails when the two drift apart.
 */
export const DIALECT_OPS = [
  'mint.abs', 'mint.acos', 'mint.acosh', 'mint.add', 'mint.addmm', 'mint.amax', 'mint.amin', 'mint.arange',
  'mint.argmax', 'mint.argmin', 'mint.asin', 'mint.asinh', 'mint.atan', 'mint.atanh', 'mint.bitwise_and',
  'mint.bitwise_not', 'mint.bitwise_or', 'mint.bitwise_xor', 'mint.broadcast_to', 'mint.cat', 'mint.ceil',
  'mint.clamp', 'mint.cos', 'mint.cosh', 'mint.cumsum', 'mint.div', 'mint.einsum', 'mint.eq', 'mint.erf', 'mint.exp',
  'mint.eye', 'mint.flatten', 'mint.floor', 'mint.fmod', 'mint.gather', 'mint.greater_equal', 'mint.gt',
  'mint.index_select', 'mint.isinf', 'mint.isnan', 'mint.le', 'mint.log', 'mint.logical_and', 'mint.logical_not',
  'mint.logical_or', 'mint.logical_xor', 'mint.logsumexp', 'mint.lt', 'mint.masked_select', 'mint.matmul',
  'mint.maximum', 'mint.mean', 'mint.minimum', 'mint.mul', 'mint.neg', 'mint.nn.functional.avg_pool1d',
  'mint.nn.functional.avg_pool2d', 'mint.nn.functional.avg_pool3d', 'mint.nn.functional.batch_norm',
  'mint.nn.functional.conv1d', 'mint.nn.functional.conv2d', 'mint.nn.functional.conv3d',
  'mint.nn.functional.conv_transpose1d', 'mint.nn.functional.conv_transpose2d', 'mint.nn.functional.conv_transpose3d',
  'mint.nn.functional.elu', 'mint.nn.functional.gelu', 'mint.nn.functional.grid_sample',
  'mint.nn.functional.group_norm', 'mint.nn.functional.hardsigmoid', 'mint.nn.functional.hardswish',
  'mint.nn.functional.interpolate', 'mint.nn.functional.layer_norm', 'mint.nn.functional.leaky_relu',
  'mint.nn.functional.linear', 'mint.nn.functional.log_softmax', 'mint.nn.functional.max_pool1d',
  'mint.nn.functional.max_pool2d', 'mint.nn.functional.max_pool3d', 'mint.nn.functional.mish',
  'mint.nn.functional.normalize', 'mint.nn.functional.one_hot', 'mint.nn.functional.pad', 'mint.nn.functional.prelu',
  'mint.nn.functional.relu', 'mint.nn.functional.selu', 'mint.nn.functional.silu', 'mint.nn.functional.softplus',
  'mint.nonzero', 'mint.permute', 'mint.pow', 'mint.prod', 'mint.rand_like', 'mint.randn_like', 'mint.reciprocal',
  'mint.remainder', 'mint.reshape', 'mint.round', 'mint.scatter', 'mint.sigmoid', 'mint.sign', 'mint.sin',
  'mint.sinh', 'mint.softmax', 'mint.split', 'mint.sqrt', 'mint.squeeze', 'mint.sub', 'mint.sum', 'mint.tan',
  'mint.tanh', 'mint.tile', 'mint.topk', 'mint.tril', 'mint.triu', 'mint.unsqueeze', 'mint.where',
  'msgraph.attention', 'msgraph.bit_shift', 'msgraph.cast_like', 'msgraph.celu', 'msgraph.concat_from_sequence',
  'msgraph.constant', 'msgraph.constant_of_shape', 'msgraph.deform_conv', 'msgraph.depth_to_space', 'msgraph.dropout',
  'msgraph.gather_nd', 'msgraph.geglu', 'msgraph.global_avg_pool', 'msgraph.global_lp_pool',
  'msgraph.global_max_pool', 'msgraph.gru', 'msgraph.hardmax', 'msgraph.identity', 'msgraph.if',
  'msgraph.instance_norm', 'msgraph.loop', 'msgraph.lp_pool1d', 'msgraph.lp_pool2d', 'msgraph.lp_pool3d',
  'msgraph.lstm', 'msgraph.mean', 'msgraph.mean_variance_normalization', 'msgraph.multi_head_attention',
  'msgraph.reduce_l1', 'msgraph.reduce_l2', 'msgraph.reduce_log_sum', 'msgraph.reduce_sum_square', 'msgraph.rms_norm', 'msgraph.rotary_embedding',
  'msgraph.rnn', 'msgraph.scaled_dot_product_attention', 'msgraph.scatter_nd', 'msgraph.sequence_at',
  'msgraph.sequence_construct', 'msgraph.sequence_empty', 'msgraph.sequence_insert', 'msgraph.shape',
  'msgraph.shrink', 'msgraph.size', 'msgraph.slice', 'msgraph.softsign', 'msgraph.space_to_depth', 'msgraph.stft',
  'msgraph.sum', 'msgraph.thresholded_relu', 'ops.cast',
] as const;

export type DialectOp = (typeof DIALECT_OPS)[number];
