"""Block definitions and instances: the document as a tree of graphs (docs/blocks.md).

A :class:`BlockDefinition` is a named :class:`LayerGraph` whose Input nodes are its input ports
and whose Output nodes are its output ports, with its own :class:`BlockParam` list. A node of type
``block`` is an instance: its ``params`` name the definition (``block``), may repeat it
(``repeat``), may carry weights to load (``weights``) and set the block's parameters.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from dlstudio.core.errors import GraphEditError
from dlstudio.core.expressions import ExpressionError, contains_expression, evaluate_value
from dlstudio.core.graph import LayerGraph, LayerNode

BLOCK_TYPE = "block"
"""The ``type_id`` of block instances."""
RESERVED_KEYS = ("block", "repeat", "weights")
"""Instance parameters that are not block parameters."""
PARAM_KINDS = ("int", "float", "bool", "choice")
MAX_REPEAT = 1000
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_PARAM_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,39}$")
_PYTHON_WORDS = frozenset(keyword.kwlist) | {"self", "x", "super", "nn", "torch", "math"}


@dataclass(frozen=True)
class BlockParam:
    """One parameter of a block definition: kind, default, range or choices, help text."""

    name: str
    kind: str
    default: Any
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()

    def check(self, value: Any) -> Any:
        """The value if it is valid for this parameter, else :class:`GraphEditError`."""
        kind = self.kind
        if kind == "int":
            ok = type(value) is int or (type(value) is float and value.is_integer())
            if not ok:
                raise GraphEditError(f"{self.name} must be a whole number, got {value!r}")
            value = int(value)
        elif kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise GraphEditError(f"{self.name} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise GraphEditError(f"{self.name} must be a finite number, got {value!r}")
            value = float(value)
        elif kind == "bool":
            if not isinstance(value, bool):
                raise GraphEditError(f"{self.name} must be true or false, got {value!r}")
        else:
            if value not in self.choices:
                options = ", ".join(repr(c) for c in self.choices)
                raise GraphEditError(f"{self.name} must be one of {options}; got {value!r}")
        if kind in ("int", "float"):
            if self.minimum is not None and value < self.minimum:
                raise GraphEditError(f"{self.name} must be at least {self.minimum:g}, got {value}")
            if self.maximum is not None and value > self.maximum:
                raise GraphEditError(f"{self.name} must be at most {self.maximum:g}, got {value}")
        return value


@dataclass
class BlockDefinition:
    """A named sub-graph with parameters. Its Input/Output nodes are the instance's ports."""

    name: str
    graph: LayerGraph
    params: tuple[BlockParam, ...] = ()
    description: str = ""

    def param(self, name: str) -> BlockParam | None:
        """The parameter called ``name``, or None."""
        return next((p for p in self.params if p.name == name), None)

    def defaults(self) -> dict[str, Any]:
        """Every block parameter at its default."""
        return {p.name: p.default for p in self.params}

    def input_nodes(self) -> list[LayerNode]:
        """The Input nodes, in document order: the instance's input ports."""
        return [n for n in self.graph if n.type_id == "input"]

    def output_nodes(self) -> list[LayerNode]:
        """The Output nodes, in document order: the instance's output ports."""
        return [n for n in self.graph if n.type_id == "output"]

    def input_ports(self) -> dict[str, str]:
        """Instance input port name -> inner Input node id (``in`` when there is one)."""
        nodes = self.input_nodes()
        if len(nodes) == 1:
            return {"in": nodes[0].id}
        return {n.name: n.id for n in nodes}

    def output_ports(self) -> dict[str, str]:
        """Instance output port name -> inner Output node id (``out`` when there is one)."""
        nodes = self.output_nodes()
        if len(nodes) == 1:
            return {"out": nodes[0].id}
        return {n.name: n.id for n in nodes}

    def copy(self) -> BlockDefinition:
        """A deep, independent copy."""
        return BlockDefinition(self.name, self.graph.copy(), tuple(self.params), self.description)


@dataclass(frozen=True)
class InstanceSettings:
    """An instance's parameters split into the definition it names, its repeat count, its
    weights file and its block parameter values (defaults applied)."""

    definition: BlockDefinition
    repeat: int
    weights: str | None
    values: dict[str, Any] = field(default_factory=dict)


def check_definition_name(name: Any) -> str | None:
    """A problem with a definition name, or None (names become Python class names)."""
    if not isinstance(name, str) or not _NAME.match(name):
        return (
            f"{name!r} is not a valid block name: start with a letter, then letters, digits or "
            "_ (at most 64), e.g. BasicBlock"
        )
    return None


def check_param_name(name: Any) -> str | None:
    """A problem with a block parameter name, or None (names become constructor arguments)."""
    if not isinstance(name, str) or not _PARAM_NAME.match(name):
        return (
            f"{name!r} is not a valid block parameter name: use lower-case letters, digits "
            "and _ (at most 40), e.g. channels"
        )
    if name in RESERVED_KEYS or name in _PYTHON_WORDS:
        return f"{name!r} is a reserved word and cannot name a block parameter"
    return None


def instance_settings(node: LayerNode, blocks: Mapping[str, BlockDefinition]) -> InstanceSettings:
    """Read an instance node's parameters; :class:`GraphEditError` says what is wrong."""
    name = node.params.get("block")
    if not isinstance(name, str) or name not in blocks:
        known = ", ".join(sorted(blocks)) or "none"
        raise GraphEditError(
            f"{node.name}: there is no block definition {name!r} (definitions: {known})"
        )
    definition = blocks[name]
    repeat = node.params.get("repeat", 1)
    if type(repeat) is not int or not 1 <= repeat <= MAX_REPEAT:
        raise GraphEditError(
            f"{node.name}: repeat must be a whole number from 1 to {MAX_REPEAT}, got {repeat!r}"
        )
    weights = node.params.get("weights")
    if weights is not None and not isinstance(weights, str):
        raise GraphEditError(f"{node.name}: weights must be a file path, got {weights!r}")
    values = definition.defaults()
    for key, value in node.params.items():
        if key in RESERVED_KEYS:
            continue
        spec = definition.param(key)
        if spec is None:
            known = ", ".join(p.name for p in definition.params) or "none"
            raise GraphEditError(
                f"{node.name}: block {name} has no parameter {key!r} (its parameters: {known})"
            )
        values[key] = spec.check(value)
    return InstanceSettings(definition, repeat, weights, values)


def resolve_inner_params(node: LayerNode, env: Mapping[str, Any]) -> dict[str, Any]:
    """An inner node's parameters with expressions evaluated against the block's values.

    Raises :class:`ExpressionError` naming the parameter when one cannot be evaluated."""
    if not any(contains_expression(v) for v in node.params.values()):
        return node.params
    resolved = {}
    for key, value in node.params.items():
        try:
            resolved[key] = evaluate_value(value, env)
        except ExpressionError as exc:
            raise ExpressionError(f"parameter {key} = {value!r}: {exc}") from None
    return resolved


def condition_problem(when: Any, definition: BlockDefinition | None) -> str | None:
    """A problem with a layer's ``when`` condition, or None. Conditions name a bool parameter
    of the block the layer sits in, optionally negated: ``downsample`` or ``not downsample``."""
    if definition is None:
        return (
            f"'when' ({when!r}) works only inside a block definition, where it names one of the "
            "block's true/false parameters; remove it"
        )
    name = condition_parameter(when)
    spec = definition.param(name) if name else None
    if spec is None or spec.kind != "bool":
        flags = ", ".join(p.name for p in definition.params if p.kind == "bool") or "none"
        return (
            f"when={when!r} must name a true/false parameter of block {definition.name}, "
            f"optionally as 'not NAME' (its true/false parameters: {flags})"
        )
    return None


def condition_parameter(when: Any) -> str | None:
    """The parameter a condition names (``not downsample`` -> ``downsample``), or None."""
    if not isinstance(when, str):
        return None
    words = when.split()
    if len(words) == 2 and words[0] == "not":
        words = words[1:]
    return words[0] if len(words) == 1 and _PARAM_NAME.match(words[0]) else None


def condition_holds(node: LayerNode, env: Mapping[str, Any] | None) -> bool:
    """True when ``node`` exists for these block parameter values (always, without ``when``).

    ``env`` must hold the parameter the condition names (checked by :func:`condition_problem`)."""
    if node.when is None or env is None:
        return True
    value = bool(env.get(condition_parameter(node.when) or "", False))
    return not value if node.when.split()[0] == "not" else value


def used_definitions(graph: LayerGraph) -> Iterator[str]:
    """Names of the definitions instantiated directly in ``graph``."""
    for node in graph:
        if node.type_id == BLOCK_TYPE and isinstance(node.params.get("block"), str):
            yield node.params["block"]


MAX_NESTING = 64
"""Blocks may nest this many levels deep (a definition inside a definition ...); deeper
documents are refused when loaded, so no walk over the tree can run out of stack."""


def _children(blocks: Mapping[str, BlockDefinition], name: str) -> list[str]:
    return [c for c in dict.fromkeys(used_definitions(blocks[name].graph)) if c in blocks]


def find_recursion(blocks: Mapping[str, BlockDefinition]) -> list[str] | None:
    """A cycle of definitions that contain themselves (``[A, B, A]``), or None.

    Iterative (an explicit stack), so a document nesting thousands of definitions deep is
    answered, not a RecursionError."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in blocks:
        if start in state:
            continue
        path = [start]
        pending = [iter(_children(blocks, start))]
        state[start] = 1
        while pending:
            child = next(pending[-1], None)
            if child is None:
                state[path.pop()] = 2
                pending.pop()
            elif state.get(child) == 1:
                return [*path[path.index(child) :], child]
            elif child not in state:
                state[child] = 1
                path.append(child)
                pending.append(iter(_children(blocks, child)))
    return None


def nesting_depth(blocks: Mapping[str, BlockDefinition], roots: list[str]) -> int:
    """How many definitions deep the deepest chain from ``roots`` goes (0 without blocks);
    the definitions must not contain themselves (see :func:`find_recursion`)."""
    depth: dict[str, int] = {}
    for name in definition_order(blocks, roots):  # children before their users
        depth[name] = 1 + max((depth[c] for c in _children(blocks, name)), default=0)
    return max((depth[r] for r in roots if r in depth), default=0)


def definition_order(blocks: Mapping[str, BlockDefinition], roots: list[str]) -> list[str]:
    """Definitions reachable from ``roots``, each after every definition it uses (iterative:
    any depth)."""
    order: list[str] = []
    seen: set[str] = set()
    for root in roots:
        if root in seen or root not in blocks:
            continue
        seen.add(root)
        stack = [(root, iter(_children(blocks, root)))]
        while stack:
            name, children = stack[-1]
            child = next(children, None)
            if child is None:
                order.append(name)
                stack.pop()
            elif child not in seen:
                seen.add(child)
                stack.append((child, iter(_children(blocks, child))))
    return order


def instances_of(root: LayerGraph, name: str) -> Iterator[tuple[str | None, LayerNode]]:
    """Every instance of definition ``name``: (the definition it sits in or None, the node)."""
    graphs: list[tuple[str | None, LayerGraph]] = [(None, root)]
    graphs += [(def_name, d.graph) for def_name, d in root.blocks.items()]
    for where, graph in graphs:
        for node in graph:
            if node.type_id == BLOCK_TYPE and node.params.get("block") == name:
                yield where, node
