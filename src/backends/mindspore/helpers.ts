/**
 * Module-level Python helpers the emitted code may call, each with the MindSpore APIs it uses (checked against the
 * target version like every other call). They keep ONNX semantics that no single mint call has.
 */

export interface Helper {
  code: string;
  apis: string[];
}

export const HELPERS: Record<string, Helper> = {
  geglu: {
    apis: ['mint.chunk', 'mint.nn.functional.gelu'],
    code: `def geglu(x, approximate="none"):
    """GEGLU: the first half of the last dim times GELU of the second half."""
    a, gate = mint.chunk(x, 2, -1)
    return a * mint.nn.functional.gelu(gate, approximate=approximate)`,
  },
  multi_head_attention: {
    apis: [],
    code: `def multi_head_attention(query, key, value, heads, scale=None, mask=None):
    """Attention over [batch, seq, heads * head_dim] tensors: split the heads, attend, merge them back.
    The scale defaults to head_dim ** -0.5."""
    batch = query.shape[0]
    head_dim = query.shape[-1] // heads
    q = query.reshape((batch, -1, heads, head_dim)).swapaxes(1, 2)
    k = key.reshape((batch, -1, heads, head_dim)).swapaxes(1, 2)
    v = value.reshape((batch, -1, heads, value.shape[-1] // heads)).swapaxes(1, 2)
    out = scaled_dot_product_attention(q, k, v, head_dim ** -0.5 if scale is None else scale, mask)
    return out.swapaxes(1, 2).reshape((batch, -1, value.shape[-1]))`,
  },
  rotary_embedding: {
    apis: ['mint.chunk', 'mint.cat'],
    code: `def rotary_embedding(x, cos, sin):
    """Rotary position embedding, rotate-half form: x * cos + cat(-x2, x1) * sin over the halves of the last dim."""
    x1, x2 = mint.chunk(x, 2, -1)
    return x * cos + mint.cat((-x2, x1), -1) * sin`,
  },
  gather: {
    apis: ['mint.index_select', 'mint.where'],
    code: `def gather(x, indices, axis):
    """ONNX Gather: take \`indices\` (any rank, negative counts from the end) along \`axis\`."""
    indices = mint.where(indices < 0, indices + x.shape[axis], indices)
    flat = mint.index_select(x, axis, indices.reshape(-1))
    return flat.reshape(x.shape[:axis] + indices.shape + x.shape[axis + 1:])`,
  },
  reshape: {
    apis: ['ops.reshape', 'mint.where'],
    code: `def reshape(x, shape):
    """ONNX Reshape: a 0 in \`shape\` copies the input's dim. A shape of Python ints is read on the host; one held
    in an int64 Tensor goes to ops.reshape, which takes it, with its 0s replaced by a Tensor of x's dims."""
    if isinstance(shape, tuple):
        return x.reshape(tuple(x.shape[i] if d == 0 else d for i, d in enumerate(shape)))
    n = shape.shape[0]
    dims = ms.Tensor((tuple(x.shape) + (1,) * n)[:n], ms.int64)
    return ops.reshape(x, mint.where(shape == 0, dims, shape))`,
  },
  expand: {
    apis: ['mint.broadcast_to', 'mint.ones', 'mint.logical_and'],
    code: `def expand(x, shape):
    """ONNX Expand: broadcast \`x\` and \`shape\` against each other (either may hold the 1s). A shape of Python ints
    picks each size on the host; a shape held in a Tensor broadcasts against ones of that shape, so no host code
    reads a Tensor's elements."""
    if isinstance(shape, tuple):
        rank = max(x.ndim, len(shape))
        src = (1,) * (rank - x.ndim) + tuple(x.shape)
        dst = (1,) * (rank - len(shape)) + shape
        return mint.broadcast_to(x, tuple(src[i] if dst[i] == 1 else dst[i] for i in range(rank)))
    if x.dtype == ms.bool_:
        return mint.logical_and(x, mint.ones(shape, dtype=ms.bool_))
    return x * mint.ones(shape, dtype=x.dtype)`,
  },
  torch_pads: {
    apis: [],
    code: `def torch_pads(pads):
    """ONNX pads [begin..., end...] in mint's order: last dim first, (begin, end) pairs."""
    n = len(pads) // 2
    return tuple(p for i in range(n - 1, -1, -1) for p in (pads[i], pads[i + n]))`,
  },
  depth_to_space_dcr: {
    apis: ['mint.permute'],
    code: `def depth_to_space_dcr(x, block):
    """ONNX DepthToSpace in DCR mode (depth, column, row)."""
    n, c, h, w = x.shape
    y = x.reshape(n, block, block, c // (block * block), h, w)
    y = mint.permute(y, (0, 3, 4, 1, 5, 2))
    return y.reshape(n, c // (block * block), h * block, w * block)`,
  },
  depth_to_space_crd: {
    apis: ['mint.permute'],
    code: `def depth_to_space_crd(x, block):
    """ONNX DepthToSpace in CRD mode (column, row, depth): torch's pixel_shuffle."""
    n, c, h, w = x.shape
    y = x.reshape(n, c // (block * block), block, block, h, w)
    y = mint.permute(y, (0, 1, 4, 2, 5, 3))
    return y.reshape(n, c // (block * block), h * block, w * block)`,
  },
  slice_backwards: {
    apis: ['mint.index_select', 'mint.arange'],
    code: `def slice_backwards(x, axis, start, end, step):
    \"\"\"ONNX Slice with a negative step along one axis (start/end clamp as ONNX says).\"\"\"
    n = x.shape[axis]
    start = start + n if start < 0 else start
    end = end + n if end < 0 else end
    start = max(0, min(start, n - 1))
    end = max(-1, min(end, n - 1))
    return mint.index_select(x, axis, mint.arange(start, end, step))`,
  },
  max_pool2d_with_indices: {
    apis: ['mint.nn.functional.max_pool2d', 'mint.arange'],
    code: `def max_pool2d_with_indices(x, kernel_size, stride=1, padding=0, dilation=1, ceil_mode=False):
    \"\"\"ONNX MaxPool with its Indices output: flat positions in the whole NCHW input.\"\"\"
    out, idx = mint.nn.functional.max_pool2d(x, kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode, return_indices=True)
    n, c, h, w = x.shape
    base = mint.arange(0, n * c, 1, dtype=ms.int64).reshape(n, c, 1, 1) * (h * w)
    return out, idx + base`,
  },
  topk: {
    apis: ['mint.sort', 'mint.narrow'],
    code: `def topk(x, k, dim, largest):
    \"\"\"ONNX TopK: the k largest (or smallest) values along dim and their indices, ties in index order.\"\"\"
    values, indices = mint.sort(x, dim=dim, descending=largest, stable=True)
    return mint.narrow(values, dim, 0, k), mint.narrow(indices, dim, 0, k)`,
  },
  pad_last_dims: {
    apis: ['mint.nn.functional.pad'],
    code: `def pad_last_dims(x, pads, mode):
    \"\"\"Reflect/replicate padding of the last len(pads) // 2 dims of a tensor of any rank.\"\"\"
    k = len(pads) // 2
    lead = x.shape[:x.ndim - k]
    y = mint.nn.functional.pad(x.reshape((-1, 1) + x.shape[x.ndim - k:]), pads, mode=mode)
    return y.reshape(lead + y.shape[2:])`,
  },
  gather_nd: {
    apis: [],
    code: `def gather_nd(x, indices):
    """ONNX GatherND with batch_dims=0."""
    return x[tuple(indices[..., k] for k in range(indices.shape[-1]))]`,
  },
  scatter_nd: {
    apis: [],
    code: `def scatter_nd(x, indices, updates):
    """ONNX ScatterND without reduction (item assignment on a copy; Tensor.copy is in every version)."""
    out = x.copy()
    out[tuple(indices[..., k] for k in range(indices.shape[-1]))] = updates
    return out`,
  },
  lstm: {
    apis: ['mint.matmul', 'mint.sigmoid', 'mint.tanh', 'mint.split', 'mint.stack', 'mint.zeros', 'mint.transpose'],
    code: `def lstm(x, w, r, b, h0, c0, direction):
    """ONNX LSTM (layout 0, gates i, o, f, c): returns y[seq, dirs, batch, hidden], y_h and y_c."""
    hidden = r.shape[-1]
    ys, hs, cs = [], [], []
    for d in range(w.shape[0]):
        reverse = direction == "reverse" or (direction == "bidirectional" and d == 1)
        h = mint.zeros((x.shape[1], hidden), dtype=x.dtype) if h0 is None else h0[d]
        c = mint.zeros((x.shape[1], hidden), dtype=x.dtype) if c0 is None else c0[d]
        bias = 0.0 if b is None else b[d][:4 * hidden] + b[d][4 * hidden:]
        steps = []
        for k in range(x.shape[0]):
            t = x.shape[0] - 1 - k if reverse else k
            gates = mint.matmul(x[t], mint.transpose(w[d], 0, 1)) + mint.matmul(h, mint.transpose(r[d], 0, 1)) + bias
            i, o, f, g = mint.split(gates, hidden, dim=1)
            c = mint.sigmoid(f) * c + mint.sigmoid(i) * mint.tanh(g)
            h = mint.sigmoid(o) * mint.tanh(c)
            steps.append(h)
        if reverse:
            steps = steps[::-1]
        ys.append(mint.stack(steps, dim=0))
        hs.append(h)
        cs.append(c)
    return mint.stack(ys, dim=1), mint.stack(hs, dim=0), mint.stack(cs, dim=0)`,
  },
  gru: {
    apis: ['mint.matmul', 'mint.sigmoid', 'mint.tanh', 'mint.split', 'mint.stack', 'mint.zeros', 'mint.transpose'],
    code: `def gru(x, w, r, b, h0, direction, linear_before_reset):
    """ONNX GRU (layout 0, gates z, r, h): returns y[seq, dirs, batch, hidden] and y_h."""
    hidden = r.shape[-1]
    ys, hs = [], []
    for d in range(w.shape[0]):
        reverse = direction == "reverse" or (direction == "bidirectional" and d == 1)
        h = mint.zeros((x.shape[1], hidden), dtype=x.dtype) if h0 is None else h0[d]
        wb = 0.0 if b is None else b[d][:3 * hidden]
        rb = mint.zeros((3 * hidden,), dtype=x.dtype) if b is None else b[d][3 * hidden:]
        wz, wr, wh = mint.split(w[d], hidden, dim=0)
        rz, rr, rh = mint.split(r[d], hidden, dim=0)
        bz, br, bh = mint.split(rb, hidden, dim=0)
        steps = []
        for k in range(x.shape[0]):
            t = x.shape[0] - 1 - k if reverse else k
            xz, xr, xh = mint.split(mint.matmul(x[t], mint.transpose(w[d], 0, 1)) + wb, hidden, dim=1)
            z = mint.sigmoid(xz + mint.matmul(h, mint.transpose(rz, 0, 1)) + bz)
            rt = mint.sigmoid(xr + mint.matmul(h, mint.transpose(rr, 0, 1)) + br)
            if linear_before_reset:
                n = mint.tanh(xh + rt * (mint.matmul(h, mint.transpose(rh, 0, 1)) + bh))
            else:
                n = mint.tanh(xh + mint.matmul(rt * h, mint.transpose(rh, 0, 1)) + bh)
            h = (1.0 - z) * n + z * h
            steps.append(h)
        if reverse:
            steps = steps[::-1]
        ys.append(mint.stack(steps, dim=0))
        hs.append(h)
    return mint.stack(ys, dim=1), mint.stack(hs, dim=0)`,
  },
  rnn: {
    apis: ['mint.matmul', 'mint.tanh', 'mint.stack', 'mint.zeros', 'mint.transpose'],
    code: `def rnn(x, w, r, b, h0, direction):
    """ONNX RNN with tanh (layout 0): returns y[seq, dirs, batch, hidden] and y_h."""
    hidden = r.shape[-1]
    ys, hs = [], []
    for d in range(w.shape[0]):
        reverse = direction == "reverse" or (direction == "bidirectional" and d == 1)
        h = mint.zeros((x.shape[1], hidden), dtype=x.dtype) if h0 is None else h0[d]
        bias = 0.0 if b is None else b[d][:hidden] + b[d][hidden:]
        steps = []
        for k in range(x.shape[0]):
            t = x.shape[0] - 1 - k if reverse else k
            h = mint.tanh(mint.matmul(x[t], mint.transpose(w[d], 0, 1)) + mint.matmul(h, mint.transpose(r[d], 0, 1)) + bias)
            steps.append(h)
        if reverse:
            steps = steps[::-1]
        ys.append(mint.stack(steps, dim=0))
        hs.append(h)
    return mint.stack(ys, dim=1), mint.stack(hs, dim=0)`,
  },
  unsupported: {
    apis: [],
    code: `def unsupported(op, node):
    """Marks an ONNX op msgraph could not map (see report.md); calling it fails loudly."""
    raise NotImplementedError("ONNX op " + op + " (node " + node + ") has no MindSpore mapping in this package")`,
  },
};
