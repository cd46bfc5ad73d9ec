"""Reads ONNX files with the python onnx package and prints the facts `msgraph inspect --json` must agree with."""
import json
import sys
from collections import Counter

import onnx


def nodes(g, deep):
    for n in g.node:
        yield n
        if deep:
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    yield from nodes(a.g, True)
                elif a.type == onnx.AttributeProto.GRAPHS:
                    for sg in a.graphs:
                        yield from nodes(sg, True)


def key(n):
    return n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}::{n.op_type}"


def numel(dims):
    out = 1
    for d in dims:
        out *= d
    return out


def params(g):
    total = sum(numel(t.dims) for t in g.initializer) + sum(numel(s.dims) for s in g.sparse_initializer)
    for n in g.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                total += params(a.g)
            elif a.type == onnx.AttributeProto.GRAPHS:
                total += sum(params(sg) for sg in a.graphs)
    return total


def dims(vi):
    t = vi.type.tensor_type
    if not t.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in t.shape.dim]


out = {}
for path in sys.argv[1:]:
    m = onnx.load(path, load_external_data=False)
    g = m.graph
    init = {t.name for t in g.initializer}
    out[path] = {
        "irVersion": m.ir_version,
        "opsets": {(o.domain or "ai.onnx"): o.version for o in m.opset_import},
        "nodeCount": len(g.node),
        "nodeCountWithSubgraphs": sum(1 for _ in nodes(g, True)),
        "opHistogram": dict(Counter(key(n) for n in g.node)),
        "opHistogramWithSubgraphs": dict(Counter(key(n) for n in nodes(g, True))),
        "parameterCount": params(g),
        "inputs": [{"name": i.name, "shape": dims(i)} for i in g.input if i.name not in init],
        "outputs": [{"name": o.name, "shape": dims(o)} for o in g.output],
        "producerName": m.producer_name,
    }
json.dump(out, sys.stdout)
