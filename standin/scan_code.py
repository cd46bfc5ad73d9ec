"""Static checks of emitted MindSpore code (no execution).

usage: /usr/bin/python3 standin/scan_code.py VERSION FILE.py [FILE.py ...]
Prints one JSON object {file: [problems]}. Checks, for the given MindSpore version:
- every mint.* / ops.* call exists in MindSpore's API (_api.json) with the keyword names used and no more
  positional arguments than the signature takes;
- ms.* and nn.* names are among the few the emitted code may use;
- attribute calls on tensors use methods a MindSpore Tensor has (_members.json);
- the code is valid GRAPH_MODE syntax: no try/import-in-function/del/set/walrus/annotated assignment/for-else/
  while-else/starred/yield/global, and only the supported builtins.
"""
import ast
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "mindspore"))
from _signature import fits  # noqa: E402

API = json.load(open(os.path.join(HERE, "mindspore", "_api.json")))["api"]
MEMBERS = json.load(open(os.path.join(HERE, "mindspore", "_members.json")))

MS_NAMES = {"Tensor", "Parameter", "float16", "float32", "float64", "bfloat16", "int8", "int16", "int32", "int64",
            "uint8", "uint16", "uint32", "uint64", "bool_", "set_context", "GRAPH_MODE", "PYNATIVE_MODE",
            "load_checkpoint", "load_param_into_net"}
NN_NAMES = {"Cell", "CellList"}
BUILTINS = {"int", "float", "bool", "str", "list", "tuple", "getattr", "hasattr", "len", "isinstance", "all", "any",
            "round", "max", "min", "sum", "abs", "map", "range", "enumerate", "super", "pow", "filter"}
EXCEPTIONS = {"NotImplementedError", "ValueError", "TypeError", "RuntimeError"}
BANNED = (ast.Try, ast.Delete, ast.Set, ast.SetComp, ast.NamedExpr, ast.AnnAssign, ast.Starred, ast.Yield,
          ast.YieldFrom, ast.Global, ast.Nonlocal, ast.AsyncFunctionDef, ast.AsyncFor, ast.AsyncWith, ast.Await)
LIST_METHODS = {"append"}


def dotted(node):
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def sig_ok(entry, version, npos, kws):
    sig = next((s["params"] for s in entry["sigs"] if version in s["versions"]), entry["sigs"][-1]["params"])
    return fits([sig] + list(entry.get("overloads") or []), npos, kws)


def scan(path, version):
    """run_example.py is plain Python: only its MindSpore API use is checked."""
    graph = os.path.basename(path) != "run_example.py"
    problems = []
    tensor_methods = set(MEMBERS[version]["Tensor"])
    tree = ast.parse(open(path).read(), path)
    defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    for node in tree.body if graph else []:
        if isinstance(node, ast.FunctionDef) or isinstance(node, ast.ClassDef):
            for sub in ast.walk(node):
                if isinstance(sub, BANNED):
                    problems.append("line %d: %s is not GRAPH_MODE syntax" % (sub.lineno, type(sub).__name__))
                if isinstance(sub, (ast.For, ast.While)) and sub.orelse:
                    problems.append("line %d: for/while-else is not GRAPH_MODE syntax" % sub.lineno)
                if isinstance(sub, (ast.Import, ast.ImportFrom)):
                    problems.append("line %d: import inside a function" % sub.lineno)
    # Names a `for` loop binds to the cells of a CellList attribute (`for block in self.layers:`) are callable cells.
    cells = {n.target.id for n in ast.walk(tree) if isinstance(n, ast.For) and isinstance(n.target, ast.Name)
             and isinstance(n.iter, ast.Attribute) and isinstance(n.iter.value, ast.Name) and n.iter.value.id == "self"}
    for sub in ast.walk(tree):
        if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name):
            base = sub.value.id
            if base == "ms" and sub.attr not in MS_NAMES:
                problems.append("line %d: ms.%s is not allowed" % (sub.lineno, sub.attr))
            if base == "nn" and sub.attr not in NN_NAMES:
                problems.append("line %d: nn.%s is not allowed" % (sub.lineno, sub.attr))
        if not isinstance(sub, ast.Call):
            continue
        name = dotted(sub.func)
        kws = [k.arg for k in sub.keywords if k.arg]
        if name and (name.startswith("mint.") or name.startswith("ops.")):
            entry = API.get(name)
            if entry is None or version not in entry["versions"]:
                problems.append("line %d: %s is not in MindSpore %s" % (sub.lineno, name, version))
            elif not sig_ok(entry, version, len(sub.args), kws):
                problems.append("line %d: %s(%d positional, %s) does not fit MindSpore %s" % (sub.lineno, name, len(sub.args), kws, version))
        elif not graph:
            continue
        elif isinstance(sub.func, ast.Name):
            fn = sub.func.id
            if fn not in BUILTINS and fn not in defined and fn not in EXCEPTIONS and fn not in cells:
                problems.append("line %d: call of %s (not a supported builtin or a function of the file)" % (sub.lineno, fn))
        elif isinstance(sub.func, ast.Attribute):
            base = sub.func.value
            while isinstance(base, (ast.Attribute, ast.Subscript)):
                base = base.value
            if isinstance(base, ast.Name) and base.id in ("ms", "nn", "self", "os"):
                continue
            if isinstance(base, ast.Call) and isinstance(base.func, ast.Name) and base.func.id == "super":
                continue
            method = sub.func.attr
            if method not in tensor_methods and method not in LIST_METHODS and method != "__init__":
                problems.append("line %d: .%s() is not a MindSpore %s Tensor method" % (sub.lineno, method, version))
    return problems


def main():
    version = sys.argv[1]
    print(json.dumps({f: scan(f, version) for f in sys.argv[2:]}))


if __name__ == "__main__":
    main()
