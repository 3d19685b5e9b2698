"""Small parameter expressions inside block definitions: ``channels * 4``, ``(width + 1) // 2``.

An inner node's parameter refers to its block's parameters with a text value that starts with
``=``. The text is parsed by the tiny recursive-descent parser below into a tree of
:class:`Num`, :class:`Name` and :class:`BinOp` nodes; nothing is ever passed to ``eval``. The
grammar is::

    expr  := term (("+" | "-") term)*
    term  := unary (("*" | "//") unary)*
    unary := "-" unary | atom
    atom  := INTEGER | NAME | "(" expr ")"
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dlstudio.core.errors import DLStudioError

PREFIX = "="
MAX_LENGTH = 200
MAX_DEPTH = 32
_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z0-9_]*)|(//|[-+*()]))")


class ExpressionError(DLStudioError):
    """An expression that cannot be parsed or evaluated; the message says where and why."""


@dataclass(frozen=True)
class Num:
    """A whole-number literal."""

    value: int

    def source(self) -> str:
        """The expression as Python source."""
        return str(self.value)


@dataclass(frozen=True)
class Name:
    """A reference to a block parameter."""

    name: str

    def source(self) -> str:
        """The expression as Python source."""
        return self.name


@dataclass(frozen=True)
class BinOp:
    """``left op right`` with ``op`` one of ``+ - * //``."""

    op: str
    left: Expr
    right: Expr

    def source(self) -> str:
        """The expression as Python source, with parentheses only where they are needed."""
        return (
            f"{_operand(self.left, self.op, False)} {self.op} {_operand(self.right, self.op, True)}"
        )


@dataclass(frozen=True)
class Neg:
    """``-operand``."""

    operand: Expr

    def source(self) -> str:
        """The expression as Python source."""
        inner = self.operand.source()
        return f"-{inner}" if isinstance(self.operand, (Num, Name)) else f"-({inner})"


Expr = Num | Name | BinOp | Neg
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "//": 2}


def _operand(expr: Expr, op: str, right: bool) -> str:
    text = expr.source()
    if isinstance(expr, BinOp):
        mine, theirs = _PRECEDENCE[op], _PRECEDENCE[expr.op]
        if theirs < mine or (right and theirs == mine):
            return f"({text})"
    return text


def is_expression(value: Any) -> bool:
    """True for a parameter value that is an expression (text starting with ``=``)."""
    return isinstance(value, str) and value.startswith(PREFIX)


def contains_expression(value: Any) -> bool:
    """True when the value or one of its list elements is an expression."""
    if isinstance(value, (list, tuple)):
        return any(is_expression(v) for v in value)
    return is_expression(value)


def parse(text: str) -> Expr:
    """Parse an expression (with or without the leading ``=``) into a tree."""
    body = text[len(PREFIX) :] if text.startswith(PREFIX) else text
    if len(body) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    tokens = _tokenize(body)
    if not tokens:
        raise ExpressionError("the expression is empty: write a parameter name such as =channels")
    parser = _Parser(tokens, body)
    tree = parser.expr(0)
    if parser.pos != len(tokens):
        raise ExpressionError(f"unexpected {tokens[parser.pos]!r} in {body.strip()!r}")
    return tree


def _tokenize(body: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    while pos < len(body):
        if body[pos:].strip() == "":
            break
        match = _TOKEN.match(body, pos)
        if match is None:
            bad = body[pos:].lstrip()[:1]
            raise ExpressionError(
                f"{bad!r} is not allowed in {body.strip()!r}: use parameter names, whole "
                "numbers, + - * // and parentheses"
            )
        tokens.append(match.group(match.lastindex or 0))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[str], body: str) -> None:
        self.tokens = tokens
        self.pos = 0
        self.body = body.strip()

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise ExpressionError(f"{self.body!r} ends too early")
        self.pos += 1
        return token

    def expr(self, depth: int) -> Expr:
        node = self.term(depth)
        while self._peek() in ("+", "-"):
            op = self._take()
            node = BinOp(op, node, self.term(depth))
        return node

    def term(self, depth: int) -> Expr:
        node = self.unary(depth)
        while self._peek() in ("*", "//"):
            op = self._take()
            node = BinOp(op, node, self.unary(depth))
        return node

    def unary(self, depth: int) -> Expr:
        if depth > MAX_DEPTH:
            raise ExpressionError(f"{self.body!r} is nested too deeply")
        if self._peek() == "-":
            self._take()
            return Neg(self.unary(depth + 1))
        return self.atom(depth)

    def atom(self, depth: int) -> Expr:
        token = self._take()
        if token == "(":
            node = self.expr(depth + 1)
            if self._take() != ")":
                raise ExpressionError(f"a parenthesis is not closed in {self.body!r}")
            return node
        if token.isdigit():
            if len(token) > 15:
                raise ExpressionError(f"the number {token[:20]}... in {self.body!r} is too large")
            return Num(int(token))
        if token[0].isalpha() or token[0] == "_":
            return Name(token)
        raise ExpressionError(f"unexpected {token!r} in {self.body!r}")


def substitute(expr: Expr, values: Mapping[str, Expr]) -> Expr:
    """``expr`` with each name in ``values`` replaced by its expression (the others kept)."""
    if isinstance(expr, Name):
        return values.get(expr.name, expr)
    if isinstance(expr, BinOp):
        return BinOp(expr.op, substitute(expr.left, values), substitute(expr.right, values))
    if isinstance(expr, Neg):
        return Neg(substitute(expr.operand, values))
    return expr


def names(expr: Expr) -> set[str]:
    """The parameter names an expression refers to."""
    if isinstance(expr, Name):
        return {expr.name}
    if isinstance(expr, BinOp):
        return names(expr.left) | names(expr.right)
    if isinstance(expr, Neg):
        return names(expr.operand)
    return set()


def evaluate(expr: Expr, env: Mapping[str, Any]) -> Any:
    """The value of ``expr`` with block parameters bound by ``env``.

    A lone name may be of any parameter kind (a bool, a choice); arithmetic needs numbers."""
    if isinstance(expr, Num):
        return expr.value
    if isinstance(expr, Name):
        if expr.name not in env:
            known = ", ".join(sorted(env)) or "none"
            raise ExpressionError(f"there is no block parameter {expr.name!r} (known: {known})")
        return env[expr.name]
    if isinstance(expr, Neg):
        return -_number(evaluate(expr.operand, env), expr)
    left = _number(evaluate(expr.left, env), expr)
    right = _number(evaluate(expr.right, env), expr)
    if expr.op == "+":
        result = left + right
    elif expr.op == "-":
        result = left - right
    elif expr.op == "*":
        result = left * right
    else:
        if right == 0:
            raise ExpressionError(f"{expr.source()} divides by zero")
        result = left // right
    if isinstance(result, int) and abs(result) >= 2**53:
        raise ExpressionError(f"{expr.source()} is too large")
    return result


def _number(value: Any, expr: Expr) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExpressionError(f"{expr.source()} needs numbers, but a parameter is {value!r}")
    return value


def evaluate_value(value: Any, env: Mapping[str, Any]) -> Any:
    """A parameter value with every expression in it (or in its list) replaced by its value."""
    if isinstance(value, (list, tuple)):
        return type(value)(evaluate_value(v, env) for v in value)
    if is_expression(value):
        return evaluate(parse(value), env)
    return value
