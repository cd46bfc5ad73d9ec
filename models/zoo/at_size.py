"""Runs a zoo model in PyTorch at sizes other than the ones it was exported at.

usage: /usr/bin/python3 models/zoo/at_size.py NAME OUT.json NAME=SHAPE [NAME=SHAPE ...]
SHAPE is comma-separated dims (`sample=2,4,24,32`). The module is built as export.py builds it (same seed, so the
same weights as the exported file); inputs are random floats, token ids below the vocabulary, an all-ones mask with
its last positions masked, or timesteps, by input name. OUT gets the io bundle format of export.py: {"inputs": ...,
"outputs": ...}.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from export import ZOO, enc, flatten  # noqa: E402


def make(name, shape, gen):
    if name in ("input_ids", "tokens"):
        return torch.randint(0, 50, shape, generator=gen)
    if name == "attention_mask":
        m = torch.ones(shape, dtype=torch.int64)
        m[0, shape[1] - shape[1] // 3:] = 0
        return m
    if name == "timestep":
        return torch.rand(shape, generator=gen) * 999
    return torch.randn(shape, generator=gen)


def main():
    name, out = sys.argv[1:3]
    sizes = dict(a.split("=", 1) for a in sys.argv[3:])
    build, make_inputs, in_names, out_names, _dyn, _notes = ZOO[name]
    torch.manual_seed(0)
    model = build().eval()
    defaults = make_inputs()
    gen = torch.Generator().manual_seed(1)
    inputs = tuple(make(n, [int(d) for d in sizes[n].split(",")], gen) if n in sizes else d for n, d in zip(in_names, defaults))
    with torch.no_grad():
        outs = flatten(model(*inputs))
    with open(out, "w") as f:
        json.dump({"inputs": {n: enc(t.numpy()) for n, t in zip(in_names, inputs)},
                   "outputs": {n: enc(t.numpy()) for n, t in zip(out_names, outs)}}, f)


if __name__ == "__main__":
    main()
