"""Python source turned into syntax trees or code objects, one thread at a time.

CPython 3.11 (before 3.11.8) keeps the AST conversion's recursion depth in interpreter-wide
state, so ``ast.parse`` or ``compile`` running in two threads at once can fail with
"SystemError: AST constructor recursion depth mismatch". DL Studio generates and parses source on
worker threads (the lens after each edit, exports, training, imports) while the window may do the
same, so every such call in the package goes through this one lock.
"""

from __future__ import annotations

import ast
import threading
from types import CodeType

SOURCE_LOCK = threading.RLock()
"""Held while Python source is parsed or compiled."""


def parse_source(source: str, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse(source)`` under :data:`SOURCE_LOCK`."""
    with SOURCE_LOCK:
        return ast.parse(source, filename=filename)


def parse_expression(source: str) -> ast.expr:
    """The expression tree of ``source`` (``ast.parse(source, mode="eval").body``)."""
    with SOURCE_LOCK:
        return ast.parse(source, mode="eval").body


def compile_source(source: str, filename: str, mode: str = "exec") -> CodeType:
    """``compile(source, filename, mode, dont_inherit=True)`` under :data:`SOURCE_LOCK`."""
    with SOURCE_LOCK:
        return compile(source, filename, mode, dont_inherit=True)
