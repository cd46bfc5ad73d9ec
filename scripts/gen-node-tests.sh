#!/usr/bin/env bash
# Generates the ONNX backend node tests (model.onnx + test_data_set_0/*.pb per case) with Debian's python3-onnx.
# onnx 1.12 still uses numpy aliases that numpy removed; they are restored before its generator runs.
set -euo pipefail
out="${1:?usage: gen-node-tests.sh OUTDIR}"
rm -rf "$out"
/usr/bin/python3 - "$out" <<'PY'
import runpy, sys
import numpy as np
for k, v in dict(float=float, int=int, bool=bool, object=object, complex=complex, str=str).items():
    setattr(np, k, v)
out = sys.argv[1]
sys.argv = ["cmd_tools", "generate-data", "-o", out]
runpy.run_module("onnx.backend.test.cmd_tools", run_name="__main__")
PY
touch "$out/.done"
echo "generated $(ls "$out/node" | wc -l) node tests"
