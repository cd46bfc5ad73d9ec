/**
 * mint has no scaled_dot_product_attention: the emitted package carries this helper, with a math path in mint ops
 * and a flash path through ops.flash_attention_score (Ascend only, fp16/bf16, BNSD layout, mask True = discard).
 */
export function attentionHelper(_default: 'math' | 'flash'): string {
  return `def scaled_dot_product_attention(query, key, value, scale, mask=None):
    """softmax(query @ key^T * scale + mask) @ value over [batch, heads, seq, head_dim] (or [batch, seq, dim]) tensors.
    An additive float mask adds to the scores; a bool mask keeps True positions."""
    if ATTENTION_BACKEND == "flash":
        layout = "BNSD" if query.ndim == 4 else "BSH"
        heads = query.shape[1] if query.ndim == 4 else 1
        discard = None
        if mask is not None:
            discard = mint.logical_not(mask) if mask.dtype == ms.bool_ else mask < 0
        out = ops.flash_attention_score(
            query.astype(ms.float16), key.astype(ms.float16), value.astype(ms.float16), heads,
            attn_mask=discard, scalar_value=scale, input_layout=layout)
        return out.astype(query.dtype)
    scores = mint.matmul(query, key.swapaxes(-1, -2)) * scale
    if mask is not None:
        if mask.dtype == ms.bool_:
            scores = scores.masked_fill(mint.logical_not(mask), -float("inf"))
        else:
            scores = scores + mask
    return mint.matmul(mint.nn.functional.softmax(scores, dim=-1), value)`;
}

/** Every API the helper calls exists in every supported MindSpore version (tensor methods are checked by the scan). */
export const ATTENTION_APIS = ['mint.matmul', 'mint.nn.functional.softmax', 'mint.logical_not', 'ops.flash_attention_score'];
