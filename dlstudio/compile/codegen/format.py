"""Layout of generated source lines: indentation and calls wrapped the way ruff format does."""

from __future__ import annotations

import ast

from dlstudio.core.source import parse_expression

INDENT = "    "


def wrap_call(prefix: str, call: str, limit: int = 100) -> list[str]:
    """``prefix + call`` on one line, or wrapped the way ruff format wraps a long call."""
    if len(prefix) + len(call) <= limit:
        return [prefix + call]
    tree = parse_expression(call)
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
    if len(tree.args) == 1 and not tree.keywords and _starred_comprehension(tree.args[0]):
        return [f"{prefix}{func}(", *_comprehension_lines(inner, tree.args[0], limit), f"{indent})"]
    lines = [f"{prefix}{func}("]
    for node, text in zip([*tree.args, *tree.keywords], args, strict=True):
        lines += _exploded_item(inner, node, text, limit)
    return [*lines, f"{indent})"]


def _starred_comprehension(node: ast.expr) -> bool:
    return isinstance(node, ast.Starred) and isinstance(node.value, ast.ListComp)


def _comprehension_lines(indent: str, node: ast.expr, limit: int) -> list[str]:
    """``*[Block(...) for _ in range(n)]`` alone in a call, as ruff format breaks it: the
    element (wrapped if still too long) and the ``for`` clause on lines of their own."""
    assert isinstance(node, ast.Starred) and isinstance(node.value, ast.ListComp)
    inner = indent + INDENT
    element = wrap_call(inner, ast.unparse(node.value.elt), limit)
    clauses = ast.unparse(node.value)[1:-1][len(ast.unparse(node.value.elt)) :].strip()
    return [f"{indent}*[", *element, f"{inner}{clauses}", f"{indent}]"]


def _exploded_item(indent: str, node: ast.AST, text: str, limit: int) -> list[str]:
    """One argument of an exploded call, ``text,``; a list that is still too long is exploded
    too, one element per line, as ruff format does."""
    value = node.value if isinstance(node, ast.keyword) else node
    if len(indent) + len(text) + 1 <= limit or not isinstance(value, ast.List):
        return [f"{indent}{text},"]
    label = text[: len(text) - len(ast.unparse(value))] if isinstance(node, ast.keyword) else ""
    items = [ast.unparse(e) for e in value.elts]
    inner = indent + INDENT
    if len(inner) + len(", ".join(items)) <= limit:
        return [f"{indent}{label}[", inner + ", ".join(items), f"{indent}],"]
    return [f"{indent}{label}[", *(f"{inner}{item}," for item in items), f"{indent}],"]


def signature_lines(
    indent: str, head: str, params: list[str], tail: str, limit: int = 100
) -> list[str]:
    """``def head(params) tail`` as ruff format lays it out: one line, or the parameters on
    one indented line, or one per line."""
    one = f"{indent}{head}({', '.join(params)}){tail}"
    if len(one) <= limit:
        return [one]
    inner = indent + INDENT
    joined = inner + ", ".join(params)
    if len(joined) <= limit:
        return [f"{indent}{head}(", joined, f"{indent}){tail}"]
    return [f"{indent}{head}(", *(f"{inner}{p}," for p in params), f"{indent}){tail}"]


def statement_lines(indent: str, code: str, comment: str, limit: int = 100) -> list[str]:
    """``code  # comment`` as ruff format leaves it: on one line when it fits; else the comment
    goes above the line, and a call still too long is wrapped."""
    note = f"  # {comment}"
    if len(indent) + len(code) + len(note) <= limit:
        return [f"{indent}{code}{note}"]
    above = f"{indent}# {comment}"
    if len(indent) + len(code) <= limit or " = " not in code:
        return [above, f"{indent}{code}"]
    targets, expression = code.split(" = ", 1)
    operands = _operator_chain(expression)
    if operands is None:
        return [above, *wrap_call(f"{indent}{targets} = ", expression, limit)]
    symbol, first, rest = operands
    inner = indent + INDENT
    body = [f"{inner}{first}", *(f"{inner}{symbol} {o}" for o in rest)]
    return [above, f"{indent}{targets} = (", *body, f"{indent})"]


def _operator_chain(expression: str) -> tuple[str, str, list[str]] | None:
    """``a + b + c`` as ("+", "a", ["b", "c"]): a sum or product of several tensors (Add with
    many inputs), which ruff format breaks one operand per line; None for anything else."""
    tree = parse_expression(expression)
    if not isinstance(tree, ast.BinOp) or not isinstance(tree.op, (ast.Add, ast.Mult)):
        return None
    kind, operands = type(tree.op), []
    while isinstance(tree, ast.BinOp) and isinstance(tree.op, kind):
        operands.append(tree.right)
        tree = tree.left
    operands.append(tree)
    texts = [ast.unparse(o) for o in reversed(operands)]
    return ("+" if kind is ast.Add else "*"), texts[0], texts[1:]
