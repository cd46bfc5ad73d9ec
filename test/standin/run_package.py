"""Runs an emitted MindSpore package under the torch-backed STAND-IN (test/standin/mindspore, not MindSpore).

usage: /usr/bin/python3 test/standin/run_package.py PACKAGE_DIR INPUTS.json OUTPUTS.json
INPUTS.json is a tensor bundle ({"inputs": {name: {dtype, shape, data}}}); OUTPUTS.json gets {"outputs": {...},
"not_loaded": [...], "unused": [...], "parameters": [...]} with the Cell's parameter names.
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


def main():
    pkg, inputs_path, out_path = sys.argv[1:4]
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
    bundle = json.load(open(inputs_path))["inputs"]
    args = [torch.from_numpy(dec(bundle[i["name"]]).copy()) for i in report["inputs"]]
    with torch.no_grad():
        outs = net(*args)
    if not isinstance(outs, tuple):
        outs = (outs,)
    result = {
        "outputs": {o["name"]: enc(t.detach().numpy()) for o, t in zip(report["outputs"], outs)},
        "not_loaded": not_loaded,
        "unused": unused,
        "parameters": [n for n, _ in net.parameters_and_names()],
    }
    with open(out_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
