"""Writing DL Studio's own data-set loaders into a training script (``--embed-data``).

The loaders are copied, not rewritten: each module's text is taken as it is, its imports of
other DL Studio modules are dropped (those modules come before it in the same file), and the
imports of other libraries are gathered at the top. A name defined by two of the modules would
change meaning once they share one file: a private one (``_PLACES``) is renamed in the later
module (``_lessons_PLACES``), any other is refused instead of written.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
from dataclasses import dataclass

from dlstudio.core.source import parse_source
from dlstudio.train.errors import TrainError

COMMON_MODULES = (
    "dlstudio.core.errors",
    "dlstudio.train.errors",
    "dlstudio.core.source",
    "dlstudio.core.tensor_spec",
    "dlstudio.train.data.options",
    "dlstudio.train.data.text",
    "dlstudio.train.data.base",
)
"""What every loader needs: the error classes, ``TensorSpec``, option checks, ``Dataset``."""


@dataclass(frozen=True)
class Bundle:
    """Loader modules joined into one text: the imports it needs and the code after them."""

    imports: list[str]
    code: str


def bundle_modules(names: list[str]) -> Bundle:
    """Join the modules ``names`` (dependencies first) into one :class:`Bundle`."""
    imports: list[str] = []
    parts: list[str] = []
    defined: dict[str, str] = {}
    for position, name in enumerate(names):
        source = inspect.getsource(importlib.import_module(name))
        kept, module_imports, aliases, needs = _strip(source, name)
        missing = [m for m in needs if m not in names[:position]]
        if missing:  # its code would name what the file does not hold
            raise TrainError(
                f"cannot write the data loaders into the script: {name} needs "
                f"{', '.join(missing)}, which is not written before it; export with the "
                "loaders imported from dlstudio instead (the default)"
            )
        for line in module_imports:
            if line not in imports:
                imports.append(line)
        short = name.rsplit(".", 1)[-1]
        for symbol in _top_level_names(kept):
            if symbol in defined and symbol.startswith("_"):
                # Two private helpers of the same name (lessons' and language's _PLACES): the
                # later one is renamed, or it would replace the other for both modules.
                kept = rename(kept, symbol, f"_{short}{symbol}")
        for symbol in _top_level_names(kept):
            if symbol in defined and defined[symbol] != name:
                raise TrainError(
                    f"cannot write the data loaders into the script: {symbol!r} is defined in "
                    f"both {defined[symbol]} and {name}; export with the loaders imported from "
                    "dlstudio instead (the default)"
                )
            defined[symbol] = name
        path = name.replace(".", "/") + ".py"
        body = "\n".join(aliases) + ("\n\n" if aliases else "") + kept.strip("\n")
        parts.append(f"# ---- {path} (DL Studio)\n{body}")
    return Bundle(imports, "\n\n\n".join(parts))


def _strip(source: str, name: str) -> tuple[str, list[str], list[str], list[str]]:
    """The module without its docstring, ``__future__`` and import lines and ``__all__``;
    its imports of other libraries; ``b = a`` lines for DL Studio imports renamed ``as b``;
    and the DL Studio modules it imports from."""
    tree = parse_source(source)
    lines = source.splitlines()
    drop: set[int] = set()
    imports: list[str] = []
    aliases: list[str] = []
    needs: list[str] = []
    for index, node in enumerate(tree.body):
        span = range(node.lineno - 1, (node.end_lineno or node.lineno))
        docstring = (
            index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        )
        is_all = isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        )
        if docstring or is_all:
            drop.update(span)
        elif isinstance(node, ast.ImportFrom):
            drop.update(span)
            module = node.module or ""
            if module == "__future__":
                continue
            if module.startswith("dlstudio"):
                aliases += [f"{a.asname} = {a.name}" for a in node.names if a.asname]
                needs.append(module)
                continue
            for alias in node.names:
                renamed = f" as {alias.asname}" if alias.asname else ""
                imports.append(f"from {module} import {alias.name}{renamed}")
        elif isinstance(node, ast.Import):
            drop.update(span)
            for alias in node.names:
                if alias.name.startswith("dlstudio"):
                    raise TrainError(
                        f"{name} imports {alias.name} as a module; it cannot be embedded"
                    )
                renamed = f" as {alias.asname}" if alias.asname else ""
                imports.append(f"import {alias.name}{renamed}")
    kept = [line for number, line in enumerate(lines) if number not in drop]
    return "\n".join(kept), imports, aliases, needs


def rename(code: str, old: str, new: str) -> str:
    """``code`` with the variable, function or class ``old`` called ``new`` everywhere it is
    used as a name (found by the parser, so strings, attributes and comments stay)."""
    tree = parse_source(code)
    spots: list[tuple[int, int, int]] = []  # (line, start column, end column)
    lines = code.splitlines()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == old:
            spots.append((node.lineno, node.col_offset, node.end_col_offset or 0))
        elif isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name == old:
            line = lines[node.lineno - 1]
            start = line.index(old, node.col_offset)
            spots.append((node.lineno, start, start + len(old)))
    for number, start, end in sorted(spots, reverse=True):
        line = lines[number - 1]
        if line[start:end] != old:  # a position the parser gave differently: never guess
            raise TrainError(f"cannot rename {old} in the data loaders; use the default export")
        lines[number - 1] = line[:start] + new + line[end:]
    out = "\n".join(lines)
    left = [n for n in ast.walk(parse_source(out)) if isinstance(n, ast.Name) and n.id == old]
    if left:
        raise TrainError(f"cannot rename {old} in the data loaders; use the default export")
    return out


def _top_level_names(code: str) -> list[str]:
    names: list[str] = []
    for node in parse_source(code).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return names


def sort_imports(lines: list[str]) -> list[str]:
    """Imports as isort groups them: the standard library, other libraries, then dlstudio; in
    each group ``import x`` lines first, then ``from x import y``, alphabetical."""

    def top(line: str) -> str:
        return line.split()[1].split(".")[0]

    groups: list[list[str]] = [[], [], []]
    for line in dict.fromkeys(lines):
        name = top(line)
        index = 0 if name in sys.stdlib_module_names else 2 if name == "dlstudio" else 1
        groups[index].append(line)
    out: list[str] = []
    for group in groups:
        if group:
            straight = sorted(line for line in group if line.startswith("import "))
            froms = sorted(line for line in group if line.startswith("from "))
            out += [*([""] if out else []), *straight, *froms]
    return out
