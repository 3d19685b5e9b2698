"""Inside a block class, values are written as the block parameters they come from.

``nn.Conv2d(in_channels, channels, ...)``: a parameter given as an expression is written as
that expression; a size the analysis inferred is written as the block parameter (or
expression, or fixed multiple of a parameter) that equals it in every use; an inlined chain
writes its parameters in its caller's terms.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dlstudio.analysis import NodeInfo
from dlstudio.compile.emitters.base import SymBool, SymFloat, SymInt
from dlstudio.core.blocks import BlockDefinition
from dlstudio.core.expressions import (
    Expr,
    ExpressionError,
    Name,
    evaluate,
    is_expression,
    parse,
    substitute,
)
from dlstudio.core.graph import LayerNode


def dim_name(
    definition: BlockDefinition, uses: list[Any], node_id: str, port: int, dim: int, rank: int
) -> str:
    """A size that differs between the uses of a class, as the block parameter (or fixed
    multiple of one) it equals in every use, else a letter (C, H, W, L) or ?."""
    values = []
    for use in uses:
        spec = list(use.analysis.nodes[node_id].outputs.values())[port]
        values.append(spec.shape[dim])
    sources = list(parameter_sources(definition, [u.values for u in uses]))
    for source, per_use in sources:
        if per_use == values:
            return source
    for source, per_use in sources:  # a size that is a fixed multiple of a parameter
        pairs = list(zip(values, per_use, strict=True))
        if not source.isidentifier() or not all(
            type(v) is int and type(p) is int and p > 0 and v % p == 0 for v, p in pairs
        ):
            continue
        factors = {v // p for v, p in pairs}
        if len(factors) == 1:
            return f"{source} * {factors.pop()}"
    if rank == 4 and dim in (1, 2, 3):
        return "CHW"[dim - 1]
    if rank == 3 and dim == 2:
        return "L"
    return "?"


def default_breaking_name(definition: BlockDefinition, uses: list[Any], value: Any) -> str | None:
    """The one block parameter whose value is ``value`` in every use while its default is not:
    a shape comment then names it (``(N, T, d_model)``), so the comment stays true for the
    class's own defaults. None when no parameter, or more than one, fits."""
    if type(value) is not int:
        return None
    envs = [u.values for u in uses]
    matches = [
        p.name
        for p in definition.params
        if p.kind == "int" and p.default != value and all(env.get(p.name) == value for env in envs)
    ]
    return matches[0] if len(matches) == 1 else None


def parameter_sources(
    definition: BlockDefinition, envs: list[dict[str, Any]]
) -> Iterator[tuple[str, list]]:
    """Block parameters and the expressions used inside the definition, with their value in
    each environment, in a stable order of preference."""
    seen: set[str] = set()
    for p in definition.params:
        if p.kind == "int":
            seen.add(p.name)
            yield p.name, [env[p.name] for env in envs]
    for node in definition.graph:
        for value in node.params.values():
            for item in value if isinstance(value, tuple) else (value,):
                if not is_expression(item):
                    continue
                try:
                    tree = parse(item)
                    source = tree.source()
                    if source in seen:
                        continue
                    seen.add(source)
                    yield source, [evaluate(tree, env) for env in envs]
                except ExpressionError:
                    continue


def inferred_sources(uses: list[Any]) -> dict[str, dict[tuple[str, str], str]]:
    """For each definition: (inner node, inferred value) -> the block parameter or expression
    that equals it in every use, if one does (``uses``: each with ``definition``, ``values``
    and ``analysis``)."""
    by_definition: dict[str, list[Any]] = {}
    for use in uses:
        by_definition.setdefault(use.definition.name, []).append(use)
    result: dict[str, dict[tuple[str, str], str]] = {}
    for name, group in by_definition.items():
        definition = group[0].definition
        sources = list(parameter_sources(definition, [u.values for u in group]))
        chosen: dict[tuple[str, str], str] = {}
        for node in definition.graph:
            infos = [u.analysis.nodes.get(node.id) for u in group]
            if any(i is None for i in infos):
                continue
            for key, value in infos[0].inferred.items():
                if type(value) is not int:
                    continue
                values = [i.inferred.get(key) for i in infos]
                match = next((src for src, per_use in sources if per_use == values), None)
                if match is not None:
                    chosen[(node.id, key)] = match
        result[name] = chosen
    return result


class ValueWriter:
    """Inside a block class: parameter values written as the expressions they came from."""

    def __init__(
        self,
        inferred_sources: dict[tuple[str, str], str],
        rename: dict[str, Expr | str] | None = None,
    ) -> None:
        self.inferred_sources = inferred_sources
        self.rename = rename

    def source(self, text: str) -> str:
        """An expression of the block's parameters, written in the caller's terms when the
        block is inlined."""
        if not self.rename:
            return text
        tree = parse(text)
        if isinstance(tree, Name) and isinstance(self.rename.get(tree.name), str):
            return self.rename[tree.name]  # type: ignore[return-value]
        trees = {k: v for k, v in self.rename.items() if not isinstance(v, str)}
        return substitute(tree, trees).source()

    def __call__(self, node: LayerNode, info: NodeInfo) -> tuple[dict, dict]:
        """(params, inferred) as the emitter should see them."""
        params = dict(info.params)
        for key, raw in node.params.items():
            if key not in params:
                continue
            if is_expression(raw):
                params[key] = _symbolic(params[key], self.source(parse(raw).source()))
            elif (
                isinstance(raw, tuple)
                and isinstance(params[key], tuple)
                and len(raw) == len(params[key])
            ):
                params[key] = tuple(
                    _symbolic(v, self.source(parse(r).source())) if is_expression(r) else v
                    for r, v in zip(raw, params[key], strict=True)
                )
        inferred = dict(info.inferred)
        for key, value in info.inferred.items():
            source = self.inferred_sources.get((node.id, key))
            if source is not None and type(value) is int:
                inferred[key] = SymInt(value, self.source(source))
        return params, inferred


def _symbolic(value: Any, source: str) -> Any:
    if isinstance(value, tuple):
        return tuple(_symbolic(v, source) for v in value)
    if type(value) is int:
        return SymInt(value, source)
    if type(value) is float:
        return SymFloat(value, source)
    if type(value) is bool:
        return SymBool(value, source)
    return value  # choices are written as their value
