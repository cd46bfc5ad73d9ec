"""Runs an emitted MindSpore package under the torch-backed STAND-IN (standin/mindspore, not MindSpore).

usage: /usr/bin/python3 standin/run_package.py PACKAGE_DIR INPUTS OUTPUTS
INPUTS is a tensor bundle file ({"inputs": {name: {dtype, shape, data}}}); OUTPUTS then gets {"outputs": {...},
"not_loaded": [...], "unused": [...], "parameters": [...]} with the Cell's parameter names. When INPUTS is a
directory of raw tensors (index.json listing {name, dtype, shape, file} and one little-endian .bin file each, for
inputs too large for JSON), OUTPUTS is written as such a directory, its index.json carrying the other fields.
"""
import base64
import importlib.util
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import mindspore as ms  # noqa: E402  (the stand-in)


def dec(e):
    return np.frombuffer(base64.b64decode(e["data"]), dtype=np.dtype(e["dtype"]).newbyteorder("<")).reshape(e["shape"])


def enc(a):
    return {"dtype": a.dtype.name, "shape": list(a.shape), "data": base64.b64encode(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()).decode()}


def read_raw(d):
    index = json.load(open(os.path.join(d, "index.json")))["tensors"]
    return {e["name"]: np.fromfile(os.path.join(d, e["file"]), dtype=np.dtype(e["dtype"]).newbyteorder("<")).reshape(e["shape"]) for e in index}


def write_raw(d, tensors, extra):
    os.makedirs(d)
    index = []
    for i, (name, a) in enumerate(tensors.items()):
        f = "%d.bin" % i
        np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tofile(os.path.join(d, f))
        index.append({"name": name, "dtype": a.dtype.name, "shape": list(a.shape), "file": f})
    with open(os.path.join(d, "index.json"), "w") as fh:
        json.dump(dict(extra, tensors=index), fh)


def main():
    pkg, inputs_path, out_path = sys.argv[1:4]
    raw = os.path.isdir(inputs_path)
    report = json.load(open(os.path.join(pkg, "report.json")))
    spec = importlib.util.spec_from_file_location("emitted_model", os.path.join(pkg, "model.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    net = getattr(mod, report["top_class"])()
    net.set_train(False)
    not_loaded, unused = [], []
    if report["parameters"]:
        # As run_example.py does: MindSpore refuses to load an empty checkpoint.
        weights = os.path.join(pkg, report["weights"])
        params = ms.load_checkpoint(weights, format="safetensors" if weights.endswith(".safetensors") else "ckpt")
        not_loaded, unused = ms.load_param_into_net(net, params)
    if raw:
        feeds = read_raw(inputs_path)
        args = [torch.from_numpy(feeds[i["name"]].copy()) for i in report["inputs"]]
    else:
        bundle = json.load(open(inputs_path))["inputs"]
        args = [torch.from_numpy(dec(bundle[i["name"]]).copy()) for i in report["inputs"]]
    with torch.no_grad():
        outs = net(*args)
    if not isinstance(outs, tuple):
        outs = (outs,)
    extra = {"not_loaded": not_loaded, "unused": unused, "parameters": [n for n, _ in net.parameters_and_names()]}
    # numpy has no bfloat16: such outputs come back as float32 (exactly their values).
    arrays = {o["name"]: (t.float() if t.dtype == torch.bfloat16 else t).detach().numpy() for o, t in zip(report["outputs"], outs)}
    if raw:
        write_raw(out_path, arrays, extra)
        return
    with open(out_path, "w") as f:
        json.dump(dict(extra, outputs={k: enc(a) for k, a in arrays.items()}), f)


if __name__ == "__main__":
    main()
