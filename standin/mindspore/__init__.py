"""A STAND-IN for MindSpore, backed by PyTorch. It is NOT MindSpore.

msgraph's tests run the emitted MindSpore packages under this package because MindSpore cannot be installed where
the tests run. It exposes only MindSpore's public mint / mint.nn / mint.nn.functional API (and the few ops.* the
emitted code may use) as listed for one MindSpore version in `_api.json` (read from MindSpore's sources); any
other name raises AttributeError, and a call whose keywords or positional count do not fit that version's
signature raises TypeError. The version is MSGRAPH_STANDIN_MS_VERSION (default 2.7.1, as the compiler's).

Implemented on torch: nn.Cell, nn.CellList, Parameter, Tensor construction, dtypes, set_context,
load_checkpoint (MindSpore .ckpt protobuf and safetensors) and load_param_into_net.
"""
import json
import os
import struct
import types

import numpy as np
import torch

from ._signature import fits

__version__ = os.environ.get("MSGRAPH_STANDIN_MS_VERSION", "2.7.1")
STANDIN = True

_HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(_HERE, "_api.json")) as _f:
    _API = json.load(_f)["api"]


def _version_key(v):
    base, _, rc = v.partition("rc")
    return tuple(int(x) for x in base.split(".")) + ((int(rc),) if rc else (10 ** 9,))


def _at_least(v):
    return _version_key(__version__) >= _version_key(v)


# ---- dtypes, modes, tensors -----------------------------------------------------------------------------------

float16, float32, float64, bfloat16 = torch.float16, torch.float32, torch.float64, torch.bfloat16
int8, int16, int32, int64 = torch.int8, torch.int16, torch.int32, torch.int64
uint8 = torch.uint8
bool_ = torch.bool
GRAPH_MODE, PYNATIVE_MODE = 0, 1
_context = {}


def set_context(**kwargs):
    _context.update(kwargs)


def Tensor(input_data=None, dtype=None):  # noqa: N802 - MindSpore's name
    if isinstance(input_data, torch.Tensor):
        return input_data.to(dtype) if dtype is not None else input_data
    return torch.tensor(input_data, dtype=dtype)


tensor = Tensor


def Parameter(default_input, name=None, requires_grad=True):  # noqa: N802
    data = default_input if isinstance(default_input, torch.Tensor) else torch.tensor(default_input)
    grad = requires_grad and data.is_floating_point()
    return torch.nn.Parameter(data.clone(), requires_grad=grad)


# MindSpore Tensor methods that torch spells differently.
torch.Tensor.astype = lambda self, dtype: self.to(dtype)
torch.Tensor.copy = lambda self: self.clone()


# ---- nn.Cell ----------------------------------------------------------------------------------------------------

with open(os.path.join(_HERE, "_members.json")) as _f:
    _MEMBERS = json.load(_f)
# Versions past the table use its newest list.
_CELL_MEMBERS = frozenset(_MEMBERS.get(__version__, _MEMBERS[max(_MEMBERS, key=_version_key)])["Cell"])


class _Cell(torch.nn.Module):
    def __setattr__(self, name, value):
        # MindSpore's Cell keeps its own state in attributes; a parameter or cell that takes the name of a Cell
        # member (or a dunder or private name) breaks it at construction or on first use.
        if isinstance(value, torch.nn.Module) or isinstance(value, torch.nn.Parameter):
            if name.startswith("_") or name in _CELL_MEMBERS:
                raise AttributeError("stand-in: %r would shadow the nn.Cell member %r" % (type(value).__name__, name))
        super().__setattr__(name, value)

    def __getattribute__(self, name):
        # MindSpore finds a cell's sub-cells and parameters before methods of the class; torch.nn.Module the other
        # way round. Names of Cell members never get here (refused above), so torch-only methods (eval, train,
        # forward, type, ...) must not hide a sub-cell of that name.
        if not name.startswith("_"):
            d = object.__getattribute__(self, "__dict__")
            for store in ("_modules", "_parameters", "_buffers"):
                s = d.get(store)
                if s is not None and name in s:
                    return s[name]
        return object.__getattribute__(self, name)

    def __call__(self, *args):
        return type(self).construct(self, *args)

    def set_train(self, mode=True):
        stack = [self]
        while stack:
            m = stack.pop()
            object.__setattr__(m, "training", mode)
            stack.extend(object.__getattribute__(m, "_modules").values())
        return self

    def parameters_and_names(self):
        return list(_net_params(self).items())


class _CellList(torch.nn.ModuleList):
    pass


nn = types.ModuleType("mindspore.nn")
nn.Cell = _Cell
nn.CellList = _CellList


# ---- the API surface ----------------------------------------------------------------------------------------------

def _sig(entry):
    for s in entry["sigs"]:
        if __version__ in s["versions"]:
            return s["params"]
    return entry["sigs"][-1]["params"]


def _check(name, entry, params, args, kwargs):
    if not fits([params] + list(entry.get("overloads") or []), len(args), list(kwargs)):
        raise TypeError("stand-in: %s%s does not fit MindSpore %s's signature (%s)" % (name, (args, kwargs), __version__, ", ".join(params)))
    names = [p.rstrip("?") for p in params if p not in ("*", "self")]
    for key, value in list(zip(names, args)) + list(kwargs.items()):
        if key in _SIZE_PARAMS:
            _host_sizes(name, value)


# Arguments that are sizes: under GRAPH_MODE a tuple of them must hold Python ints (or be one int Tensor), never a
# tuple with Tensor elements (a size computed from a Tensor's values on the host).
_SIZE_PARAMS = frozenset(["size", "shape", "dims", "perm", "output_size", "split_size_or_sections", "input_perm"])


def _host_sizes(name, value):
    if isinstance(value, (tuple, list)) and any(isinstance(v, torch.Tensor) for v in value):
        raise TypeError("stand-in: %s got a size tuple holding a Tensor %r; GRAPH_MODE needs Python ints" % (name, value))


for _m in ("reshape", "view"):
    def _sizes_checked(self, *shape, _f=getattr(torch.Tensor, _m), _name=_m):
        for v in shape:
            _host_sizes("Tensor." + _name, v if isinstance(v, (tuple, list)) else (v,))
        return _f(self, *shape)
    setattr(torch.Tensor, _m, _sizes_checked)


def _squeeze(input, dim=None):
    if dim is None:
        return torch.squeeze(input)
    if isinstance(dim, (tuple, list)):
        for d in sorted((d % input.dim() for d in dim), reverse=True):
            input = torch.squeeze(input, d)
        return input
    return torch.squeeze(input, dim)


def _sized(fn):
    """mint.ones/zeros: the size may be an int32/int64 Tensor (0-D or 1-D), as MindSpore documents."""
    def op(size, *args, **kwargs):
        if isinstance(size, torch.Tensor):
            size = tuple(int(s) for s in size.reshape(-1).tolist())
        return fn(size, *args, **kwargs)
    return op


def _pad(input, pad, mode="constant", value=None):
    if mode == "constant":
        return torch.nn.functional.pad(input, pad, mode, 0.0 if value is None else value)
    return torch.nn.functional.pad(input, pad, mode)


def _layer_norm_cls(normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, dtype=None, **_legacy):
    m = torch.nn.LayerNorm(normalized_shape, eps=eps, elementwise_affine=elementwise_affine)
    if elementwise_affine and not bias:
        m.bias = None
    if not _at_least("2.4.0"):
        return _Renamed(m, {"weight": "gamma", "bias": "beta"})
    return m


def _group_norm_cls(num_groups, num_channels, eps=1e-5, affine=True, dtype=None):
    m = torch.nn.GroupNorm(num_groups, num_channels, eps=eps, affine=affine)
    if affine and not _at_least("2.5.0"):
        return _Renamed(m, {"weight": "gamma", "bias": "beta"})
    return m


class _Renamed(torch.nn.Module):
    """A layer whose parameters MindSpore names differently in older versions (gamma/beta)."""

    def __init__(self, inner, names):
        super().__init__()
        self._inner_forward = inner.forward
        self._names = names
        for old, new in names.items():
            p = getattr(inner, old)
            if p is not None:
                self.register_parameter(new, p)
        self._inner = [inner]

    def forward(self, x):
        inner = self._inner[0]
        for old, new in self._names.items():
            if hasattr(self, new):
                setattr(inner, old, getattr(self, new))
        return self._inner_forward(x)


def _batch_norm_cls(dims):
    def make(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, dtype=None):
        cls = {1: torch.nn.BatchNorm1d, 2: torch.nn.BatchNorm2d, 3: torch.nn.BatchNorm3d}[dims]
        return cls(num_features, eps=eps, momentum=momentum, affine=affine, track_running_stats=track_running_stats)
    return make


_HALF = (torch.float16, torch.bfloat16)


def _drop(cls, *names):
    """A torch layer for a mint.nn one: MindSpore-only keywords dropped; `dtype` builds its parameters in that type,
    and a half-precision layer computes as a float32-accumulating kernel does (torch's CPU kernels lack most half
    ops): in float32, rounded to its type."""
    class Layer(cls):
        def forward(self, x):
            w = next(self.parameters(), None)
            half = w.dtype if w is not None else None
            if half in _HALF:
                if x.dtype != half and x.is_floating_point():
                    raise TypeError("stand-in: %s with %s parameters got a %s input" % (cls.__name__, half, x.dtype))
                if x.is_floating_point():
                    saved = {n: p.data for n, p in self.named_parameters()}
                    try:
                        for n, p in self.named_parameters():
                            p.data = p.data.float()
                        return super().forward(x.float()).to(half)
                    finally:
                        for n, p in self.named_parameters():
                            p.data = saved[n]
            return super().forward(x)

    Layer.__name__ = cls.__name__

    def make(*args, **kwargs):
        dtype = kwargs.get("dtype")
        for n in names:
            kwargs.pop(n, None)
        m = Layer(*args, **kwargs)
        return m.to(dtype) if dtype in _HALF else m
    return make


def _flash_attention_score(query, key, value, head_num, real_shift=None, drop_mask=None, padding_mask=None,
                           attn_mask=None, prefix=None, actual_seq_qlen=None, actual_seq_kvlen=None, keep_prob=1.0,
                           scalar_value=1.0, pre_tokens=2147483647, next_tokens=2147483647, inner_precise=0,
                           input_layout="BSH", sparse_mode=0):
    if query.dtype not in (torch.float16, torch.bfloat16):
        raise TypeError("stand-in: flash_attention_score takes float16/bfloat16 inputs only")
    if input_layout not in ("BNSD", "BSH"):
        raise ValueError("stand-in: layout %s not implemented" % input_layout)
    if query.shape[-1] % 16:
        raise ValueError("stand-in: flash_attention_score takes a head size that is a multiple of 16, not %d" % query.shape[-1])
    if attn_mask is not None and attn_mask.dim() == 4 and attn_mask.shape[0] != query.shape[0]:
        raise ValueError("stand-in: flash_attention_score's attn_mask is [B, 1|N, S1, S2] or [S1, S2], not %s" % (tuple(attn_mask.shape),))
    q, k, v = (t.float() for t in (query, key, value))
    scores = torch.matmul(q, k.transpose(-1, -2)) * scalar_value
    if real_shift is not None:
        scores = scores + real_shift.float()
    if attn_mask is not None:
        scores = scores.masked_fill(attn_mask.bool(), float("-inf"))
    return torch.matmul(torch.softmax(scores, dim=-1), v).to(query.dtype)


def _ops_conv(nd):
    """ops.conv1d/2d/3d: pad_mode "valid", "same" or "pad"; with "pad", padding is an int or one value per side in
    MindSpore's order (top, bottom, left, right for 2-D)."""
    conv = {1: torch.nn.functional.conv1d, 2: torch.nn.functional.conv2d, 3: torch.nn.functional.conv3d}[nd]

    def op(input, weight, bias=None, stride=1, pad_mode="valid", padding=0, dilation=1, groups=1):
        if pad_mode == "same":
            return conv(input, weight, bias, stride, "same", dilation, groups)
        if pad_mode == "pad":
            sides = (padding,) * (2 * nd) if isinstance(padding, int) else tuple(padding)
            order = []
            for d in reversed(range(nd)):  # torch's pad takes the last dim first
                order += [sides[2 * d], sides[2 * d + 1]]
            input = torch.nn.functional.pad(input, order)
        return conv(input, weight, bias, stride, 0, dilation, groups)
    return op


_OVERRIDES = {
    "ops.conv1d": _ops_conv(1),
    "ops.conv2d": _ops_conv(2),
    "ops.conv3d": _ops_conv(3),
    "mint.squeeze": _squeeze,
    "mint.ones": _sized(torch.ones),
    "mint.zeros": _sized(torch.zeros),
    "ops.squeeze": lambda input, axis=None: _squeeze(input, axis),
    # ops.reshape takes an int Tensor shape as well as a tuple (mint.reshape and Tensor.reshape do not).
    "ops.reshape": lambda input, shape: input.reshape(tuple(int(s) for s in shape.reshape(-1).tolist()) if isinstance(shape, torch.Tensor) else shape),
    "mint.nn.functional.pad": _pad,
    "mint.nn.LayerNorm": _layer_norm_cls,
    "mint.nn.GroupNorm": _group_norm_cls,
    "mint.nn.BatchNorm1d": _batch_norm_cls(1),
    "mint.nn.BatchNorm2d": _batch_norm_cls(2),
    "mint.nn.BatchNorm3d": _batch_norm_cls(3),
    "mint.nn.Linear": _drop(torch.nn.Linear, "weight_init", "bias_init", "dtype"),
    "mint.nn.Conv1d": _drop(torch.nn.Conv1d, "dtype"),
    "mint.nn.Conv2d": _drop(torch.nn.Conv2d, "dtype"),
    "mint.nn.Conv3d": _drop(torch.nn.Conv3d, "dtype"),
    "mint.nn.ConvTranspose2d": _drop(torch.nn.ConvTranspose2d, "dtype"),
    "mint.nn.Embedding": _drop(torch.nn.Embedding, "dtype"),
    "mint.nn.PReLU": _drop(torch.nn.PReLU, "dtype"),
    "ops.flash_attention_score": _flash_attention_score,
}


def _resolve(name):
    if name in _OVERRIDES:
        return _OVERRIDES[name]
    parts = name.split(".")
    if parts[0] == "mint":
        mod = torch
        for p in parts[1:-1]:
            mod = getattr(mod, p, None)
            if mod is None:
                return None
        return getattr(mod, parts[-1], None)
    return None


def _wrap(name, entry):
    impl = _resolve(name)
    params = _sig(entry)

    def api(*args, **kwargs):
        _check(name, entry, params, args, kwargs)
        if impl is None:
            raise NotImplementedError("stand-in: %s exists in MindSpore %s but the stand-in does not implement it" % (name, __version__))
        try:
            return impl(*args, **kwargs)
        except RuntimeError as e:
            # torch's CPU kernels lack some float16 ops (matmul among them) that MindSpore has: compute in float32
            # and return float16, as a float16 kernel would.
            if "not implemented for 'Half'" not in str(e) and "not implemented for 'BFloat16'" not in str(e):
                raise
            half = next(a.dtype for a in list(args) + list(kwargs.values()) if isinstance(a, torch.Tensor) and a.dtype in _HALF)
            up = lambda a: a.float() if isinstance(a, torch.Tensor) and a.dtype in _HALF else a
            out = impl(*[up(a) for a in args], **{k: up(v) for k, v in kwargs.items()})
            return out.to(half) if isinstance(out, torch.Tensor) and out.is_floating_point() else out

    api.__name__ = name.rsplit(".", 1)[-1]
    api.__qualname__ = name
    return api


def _namespace(prefix):
    ns = types.ModuleType("mindspore." + prefix)
    for name, entry in _API.items():
        if not name.startswith(prefix + ".") or __version__ not in entry["versions"]:
            continue
        rest = name[len(prefix) + 1:]
        if "." in rest:
            continue
        setattr(ns, rest, _wrap(name, entry))
    return ns


mint = _namespace("mint")
mint.nn = _namespace("mint.nn")
mint.nn.functional = _namespace("mint.nn.functional")
ops = _namespace("ops")


# ---- checkpoints ------------------------------------------------------------------------------------------------

_CKPT_TYPES = {"Float16": np.float16, "Float32": np.float32, "Float64": np.float64, "Int8": np.int8,
               "Int16": np.int16, "Int32": np.int32, "Int64": np.int64, "UInt8": np.uint8, "UInt16": np.uint16,
               "UInt32": np.uint32, "UInt64": np.uint64, "Bool": np.bool_}
_ST_TYPES = {"F16": np.float16, "F32": np.float32, "F64": np.float64, "I8": np.int8, "I16": np.int16,
             "I32": np.int32, "I64": np.int64, "U8": np.uint8, "U16": np.uint16, "U32": np.uint32, "U64": np.uint64,
             "BOOL": np.bool_}


def _varint(buf, pos):
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def _fields(buf):
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            val, pos = _varint(buf, pos)
        elif wire == 2:
            n, pos = _varint(buf, pos)
            val = buf[pos:pos + n]
            pos += n
        elif wire == 1:
            val = buf[pos:pos + 8]
            pos += 8
        elif wire == 5:
            val = buf[pos:pos + 4]
            pos += 4
        else:
            raise ValueError("stand-in: unsupported protobuf wire type %d" % wire)
        yield field, wire, val


def _read_ckpt(path):
    data = memoryview(open(path, "rb").read())
    if bytes(data[-17:-10]) == b"crc_num":
        data = data[:-17]
    out, order = {}, []
    for field, _, value in _fields(data):
        if field != 1:
            continue
        tag, dims, dtype, content = None, [], None, b""
        for f, w, v in _fields(value):
            if f == 1:
                tag = bytes(v).decode()
            elif f == 2:
                for tf, tw, tv in _fields(v):
                    if tf == 1:
                        if tw == 0:
                            dims.append(tv)
                        else:
                            p = 0
                            while p < len(tv):
                                d, p = _varint(tv, p)
                                dims.append(d)
                    elif tf == 2:
                        dtype = bytes(tv).decode()
                    elif tf == 3:
                        content = bytes(tv)
        if tag in out:
            out[tag] = (out[tag][0], out[tag][1], out[tag][2] + content)
        else:
            out[tag] = (dims, dtype, content)
            order.append(tag)
    result = {}
    for tag in order:
        dims, dtype, content = out[tag]
        shape = () if dims == [0] else tuple(dims)
        arr = np.frombuffer(content, dtype=_CKPT_TYPES[dtype]).reshape(shape)
        result[tag] = torch.from_numpy(arr.copy())
    return result


def _read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    result = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        if info["dtype"] == "BF16":
            # numpy has no bfloat16: the upper halves of float32s.
            bits = np.frombuffer(raw[base + a:base + b], dtype="<u2").astype(np.uint32) << 16
            result[name] = torch.from_numpy(bits.view(np.float32).reshape(info["shape"]).copy()).to(torch.bfloat16)
            continue
        arr = np.frombuffer(raw[base + a:base + b], dtype=_ST_TYPES[info["dtype"]]).reshape(info["shape"])
        result[name] = torch.from_numpy(arr.copy())
    return result


def load_checkpoint(ckpt_file_name, net=None, strict_load=False, filter_prefix=None, dec_key=None, dec_mode="AES-GCM",
                    specify_prefix=None, choice_func=None, crc_check=False, remove_redundancy=False, format="ckpt"):
    if format == "safetensors" or str(ckpt_file_name).endswith(".safetensors"):
        if not _at_least("2.4.0"):
            raise TypeError("stand-in: MindSpore %s cannot load safetensors" % __version__)
        tensors = _read_safetensors(ckpt_file_name)
    else:
        tensors = _read_ckpt(ckpt_file_name)
    if not tensors:
        raise ValueError("stand-in: The loaded parameter dict is empty (MindSpore refuses an empty checkpoint)")
    params = {k: torch.nn.Parameter(v, requires_grad=False) for k, v in tensors.items()}
    if net is not None:
        load_param_into_net(net, params, strict_load)
    return params


def _net_params(net):
    out = dict(torch.nn.Module.named_parameters(net))
    for name, buf in torch.nn.Module.named_buffers(net):
        out.setdefault(name, buf)
    return out


def load_param_into_net(net, parameter_dict, strict_load=False, remove_redundancy=False):
    """Copies parameters by name; returns (net parameters not loaded, checkpoint entries not used) as MindSpore does."""
    own = _net_params(net)
    not_loaded = []
    with torch.no_grad():
        for name, p in own.items():
            if name not in parameter_dict:
                not_loaded.append(name)
                continue
            src = parameter_dict[name].data
            if tuple(src.shape) != tuple(p.shape):
                raise RuntimeError("stand-in: %s has shape %s in the checkpoint, %s in the net" % (name, tuple(src.shape), tuple(p.shape)))
            p.data.copy_(src.to(p.dtype))
    unused = [k for k in parameter_dict if k not in own]
    return not_loaded, unused
