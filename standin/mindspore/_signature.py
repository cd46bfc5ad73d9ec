"""Whether a call fits a MindSpore API signature as _api.json spells it (shared by the stand-in and the code scan)."""


def fits(signatures, npos, keywords):
    """signatures: lists of parameter names (`name?` has a default, `*` starts keyword-only, `*args`, `**kw`)."""
    for sig in signatures:
        names = [p.rstrip("?") for p in sig]
        star = names.index("*") if "*" in names else len(names)
        positional = [n for n in names[:star] if not n.startswith("*")]
        varargs = any(n.startswith("*") and not n.startswith("**") and n != "*" for n in names)
        varkw = any(n.startswith("**") for n in names)
        if npos > len(positional) and not varargs:
            continue
        taken = set(positional[:npos])
        if all((k in names and k not in taken) or varkw for k in keywords):
            return True
    return False
