"""Every node's output on one example, from the compiled module itself.

The generated ``forward()`` writes one line per node (``x = self.conv1(x)``, ``x = F.relu(x)``,
``add = x + shortcut``), and :class:`~dlstudio.compile.codegen.GeneratedCode` knows which node
each line belongs to. A line tracer on that one frame reads the variables a line assigned as soon
as it has run, so layers written as function calls (which no forward hook can see) are captured
as exactly as submodules, by the very code that trains and exports. Nothing is recomputed: the
values are the module's own intermediate tensors.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Any

import torch

from dlstudio.compile.build import CompiledModel
from dlstudio.core.graph import LayerGraph
from dlstudio.core.source import parse_source


@dataclass(frozen=True)
class StepLine:
    """One forward() line: the node that writes it and the variables it assigns."""

    node_id: str
    targets: tuple[str, ...]


def step_lines(compiled: CompiledModel, graph: LayerGraph) -> StepLines:
    """The model's forward() steps: their first lines, with their nodes and targets."""
    if compiled.code is None:
        raise ValueError("the compiled model carries no generated code to follow")
    ids = {node.name: node.id for node in graph}
    starts = {number: ids[name] for number, name in compiled.code.line_nodes.items() if name in ids}
    return statement_steps(compiled.code.source, starts)


@dataclass(frozen=True)
class StepLines:
    """The statements the lens reads: where each starts, and the lines that continue one."""

    starts: dict[int, StepLine]
    """First line of a step's statement -> the node and the variables it assigns."""
    inside: frozenset[int]
    """Later lines of those statements (a long call wrapped over several lines): the tracer
    waits for the statement to finish before it reads what it assigned."""


def statement_steps(source: str, nodes: dict[int, str]) -> StepLines:
    """The statements of ``source`` that start on a line of ``nodes`` (line -> node id)."""
    starts: dict[int, StepLine] = {}
    inside: set[int] = set()
    for statement in ast.walk(parse_source(source)):
        if not isinstance(statement, ast.stmt) or statement.lineno not in nodes:
            continue
        if statement.lineno in starts or statement.lineno in inside:
            continue
        starts[statement.lineno] = StepLine(nodes[statement.lineno], _targets(statement))
        last = statement.end_lineno or statement.lineno
        inside.update(range(statement.lineno + 1, last + 1))
    return StepLines(starts, frozenset(inside))


def _targets(statement: ast.stmt) -> tuple[str, ...]:
    """The names an ``a, b = ...`` statement assigns (none for anything else)."""
    if not isinstance(statement, ast.Assign):
        return ()
    names: list[str] = []
    for target in statement.targets:
        elements = target.elts if isinstance(target, ast.Tuple) else [target]
        names += [e.id for e in elements if isinstance(e, ast.Name)]
    return tuple(names)


def _forward_code(compiled: CompiledModel) -> CodeType:
    return type(compiled.module).forward.__code__


def capture(
    compiled: CompiledModel,
    graph: LayerGraph,
    inputs: tuple[torch.Tensor, ...],
    *,
    grad: bool = False,
    cancelled: Callable[[], bool] | None = None,
    lines: StepLines | None = None,
) -> tuple[dict[str, tuple[torch.Tensor, ...]], tuple[torch.Tensor, ...]]:
    """Run the compiled module once on ``inputs``; returns (node id -> the tensors its line
    assigned, in port order; the module's outputs). Input nodes map to their argument.

    ``grad`` keeps the autograd graph (for explanations); otherwise nothing is recorded.
    ``cancelled`` is asked before every line: when it returns True the run stops with
    :class:`LensCancelled`. ``lines`` (from :func:`step_lines`) saves parsing the source again.
    """
    lines = step_lines(compiled, graph) if lines is None else lines
    code = _forward_code(compiled)
    values: dict[str, tuple[torch.Tensor, ...]] = {}
    state: dict[str, Any] = {"pending": None}

    def collect(frame: FrameType) -> None:
        step = state["pending"]
        if step is None:
            return
        found = tuple(frame.f_locals[t] for t in step.targets if t in frame.f_locals)
        values[step.node_id] = tensors_of(found)
        state["pending"] = None

    def local(frame: FrameType, event: str, _arg: Any) -> Callable | None:
        if event == "line" and frame.f_lineno in lines.inside:
            return local  # still inside a wrapped statement: its targets are not set yet
        if event in ("line", "return"):
            collect(frame)
            if event == "line":
                if cancelled is not None and cancelled():
                    raise LensCancelled()
                state["pending"] = lines.starts.get(frame.f_lineno)
        return local

    def global_trace(frame: FrameType, event: str, _arg: Any) -> Callable | None:
        if event == "call" and frame.f_code is code:
            return local
        return None

    inputs_by_node = _input_nodes(graph, compiled, inputs)
    values.update({node_id: (tensor,) for node_id, tensor in inputs_by_node.items()})
    module = compiled.module
    previous = sys.gettrace()
    context = torch.enable_grad() if grad else torch.no_grad()
    sys.settrace(global_trace)
    try:
        with context:
            outputs = module(*inputs)
    finally:
        sys.settrace(previous)
    if isinstance(outputs, torch.Tensor):
        outputs = (outputs,)
    _fill_outputs(graph, compiled, values, tuple(outputs))
    return values, tuple(outputs)


class LensCancelled(Exception):
    """A newer request replaced this one before it finished."""


def tensors_of(items: tuple[Any, ...]) -> tuple[torch.Tensor, ...]:
    """The tensors among ``items`` and the tuples and lists they hold, in order."""
    return tuple(v for v in _flatten(items) if isinstance(v, torch.Tensor))


def _flatten(items: tuple[Any, ...]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if isinstance(item, tuple | list):
            out += _flatten(tuple(item))
        else:
            out.append(item)
    return out


def _input_nodes(
    graph: LayerGraph, compiled: CompiledModel, inputs: tuple[torch.Tensor, ...]
) -> dict[str, torch.Tensor]:
    nodes = [node for node in graph if node.type_id == "input"]
    if len(nodes) != len(inputs):
        raise ValueError(f"the model has {len(nodes)} inputs, {len(inputs)} were given")
    return {node.id: tensor for node, tensor in zip(nodes, inputs, strict=True)}


def _fill_outputs(
    graph: LayerGraph,
    compiled: CompiledModel,
    values: dict[str, tuple[torch.Tensor, ...]],
    outputs: tuple[torch.Tensor, ...],
) -> None:
    """Output nodes show what the model returns for them."""
    nodes = [node for node in graph if node.type_id == "output"]
    for node, tensor in zip(nodes, outputs, strict=False):
        values[node.id] = (tensor,)
