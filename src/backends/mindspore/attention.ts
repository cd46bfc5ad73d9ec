/**
 * mint has no scaled_dot_product_attention: the emitted package carries this helper, with a math path in mint ops
 * and a flash path through ops.flash_attention_score (Ascend only; float16/bfloat16; head_dim a multiple of 16; a
 * boolean mask with True = discard, [B, 1, Sq, Skv] or [B, N, Sq, Skv]; an additive bias as pse [B|1, N, Sq, Skv],
 * added after the scale).
 */
export function attentionHelper(_default: 'math' | 'flash'): string {
  return `def scaled_dot_product_attention(query, key, value, scale, mask=None):
    """softmax(query @ key^T * scale + mask) @ value over [batch, heads, seq, head_dim] (or [batch, seq, dim]) tensors.
    An additive float mask adds to the scores; a bool mask keeps True positions (a row with none kept averages
    instead of giving NaN). Half-precision scores take their softmax in float32."""
    if ATTENTION_BACKEND == "flash" and query.shape[-1] % 16 == 0:
        # bfloat16 stays bfloat16; float32 runs in float16 (the kernel takes nothing else).
        dtype = query.dtype if query.dtype == ms.float16 or query.dtype == ms.bfloat16 else ms.float16
        four = query.ndim == 4
        batch = query.shape[0]
        heads = query.shape[1] if four else 1
        seq_q = query.shape[-2]
        seq_k = key.shape[-2]
        discard = None
        bias = None
        if mask is not None:
            if mask.dtype == ms.bool_:
                mask_heads = mask.shape[1] if mask.ndim == 4 else 1
                discard = mint.broadcast_to(mint.logical_not(mask), (batch, mask_heads, seq_q, seq_k))
            else:
                bias = mint.broadcast_to(mask, (batch, heads, seq_q, seq_k)).astype(dtype)
        out = ops.flash_attention_score(
            query.astype(dtype), key.astype(dtype), value.astype(dtype), heads, real_shift=bias,
            attn_mask=discard, scalar_value=scale, input_layout="BNSD" if four else "BSH")
        return out.astype(query.dtype)
    scores = mint.matmul(query, key.swapaxes(-1, -2)) * scale
    if mask is not None:
        if mask.dtype == ms.bool_:
            lowest = -65504.0 if scores.dtype == ms.float16 else -3.3895313892515355e+38
            scores = scores.masked_fill(mint.logical_not(mask), lowest)
        else:
            scores = scores + mask
    if scores.dtype == ms.float16 or scores.dtype == ms.bfloat16:
        probs = mint.nn.functional.softmax(scores.astype(ms.float32), dim=-1).astype(value.dtype)
    else:
        probs = mint.nn.functional.softmax(scores, dim=-1)
    return mint.matmul(probs, value)`;
}

/** Every API the helper calls exists in every supported MindSpore version (tensor methods are checked by the scan). */
export const ATTENTION_APIS = ['mint.matmul', 'mint.nn.functional.softmax', 'mint.logical_not', 'mint.broadcast_to', 'ops.flash_attention_score'];
