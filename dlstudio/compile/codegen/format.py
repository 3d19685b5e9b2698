"""Layout of generated source lines: indentation and calls wrapped the way ruff format does."""

from __future__ import annotations

import ast

INDENT = "    "


def wrap_call(prefix: str, call: str, limit: int = 100) -> list[str]:
    """``prefix + call`` on one line, or wrapped the way ruff format wraps a long call."""
    if len(prefix) + len(call) <= limit:
        return [prefix + call]
    tree = ast.parse(call, mode="eval").body
    indent = " " * (len(prefix) - len(prefix.lstrip()))
    if isinstance(tree, ast.IfExp) and prefix.rstrip().endswith("="):
        # ``a = f(...) if flag else None``: parenthesised, then the call wrapped inside.
        inner = indent + INDENT
        body = wrap_call(inner, ast.get_source_segment(call, tree.body) or "", limit)
        test = ast.get_source_segment(call, tree.test)
        orelse = ast.get_source_segment(call, tree.orelse)
        tail = f" if {test} else {orelse}"
        if len(body) == 1 and len(body[0]) + len(tail) <= limit:
            return [f"{prefix}(", body[0] + tail, f"{indent})"]
        return [f"{prefix}(", *body, f"{inner}if {test}", f"{inner}else {orelse}", f"{indent})"]
    if not isinstance(tree, ast.Call):
        return [prefix + call]
    func = ast.get_source_segment(call, tree.func)
    args = [ast.get_source_segment(call, a) or "" for a in tree.args]
    args += [f"{k.arg}={ast.get_source_segment(call, k.value)}" for k in tree.keywords]
    inner = indent + INDENT
    joined = inner + ", ".join(args)
    if len(joined) <= limit:
        return [f"{prefix}{func}(", joined, f"{indent})"]
    return [f"{prefix}{func}(", *(f"{inner}{a}," for a in args), f"{indent})"]
