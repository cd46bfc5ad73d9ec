/** The ops the fusions create, by role: the passes write them and the backends key their emitters by them. */
export const SDPA_OP = 'msgraph.scaled_dot_product_attention';
export const MHA_OP = 'msgraph.multi_head_attention';
export const LAYER_NORM_OP = 'mint.nn.functional.layer_norm';
export const GROUP_NORM_OP = 'mint.nn.functional.group_norm';
export const RMS_NORM_OP = 'msgraph.rms_norm';
export const GEGLU_OP = 'msgraph.geglu';
export const SILU_OP = 'mint.nn.functional.silu';
export const GELU_OP = 'mint.nn.functional.gelu';
export const HARDSWISH_OP = 'mint.nn.functional.hardswish';
export const HARDSIGMOID_OP = 'mint.nn.functional.hardsigmoid';
export const ROTARY_OP = 'msgraph.rotary_embedding';
