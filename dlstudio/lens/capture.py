"""Every node's output on one example, from the compiled module itself.

The generated ``forward()`` writes one line per node (``x = self.conv1(x)``, ``x = F.relu(x)``,
``add = x + shortcut``), and :class:`~dlstudio.compile.codegen.GeneratedCode` knows which node
each line belongs to. The lens compiles that ``forward()`` once more from its own source with a
record call after each node's statement (:func:`recording_forward`) and runs it on the module, so
layers written as function calls (which no forward hook can see) are captured as exactly as
submodules, by the very statements that train and export. Where the source cannot be matched to
the function, a line tracer on the ``forward()`` frame reads the same variables (slower: Python
calls it for every line and call). Nothing is recomputed: the values are the module's own
intermediate tensors.
"""

from __future__ import annotations

import ast
import sys
import weakref
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
    values: dict[str, tuple[torch.Tensor, ...]] = {}
    inputs_by_node = _input_nodes(graph, compiled, inputs)
    values.update({node_id: (tensor,) for node_id, tensor in inputs_by_node.items()})
    context = torch.enable_grad() if grad else torch.no_grad()
    recording = recording_forward(compiled, lines)
    if recording is not None:

        def record(node_id: str, assigned: tuple[Any, ...]) -> None:
            values[node_id] = tensors_of(assigned)
            if cancelled is not None and cancelled():
                raise LensCancelled()

        with context:
            outputs = recording(compiled.module, *inputs, **{RECORD: record})
    else:
        with context:
            outputs = _traced_run(compiled, lines, inputs, values, cancelled)
    if isinstance(outputs, torch.Tensor):
        outputs = (outputs,)
    _fill_outputs(graph, compiled, values, tuple(outputs))
    return values, tuple(outputs)


def _traced_run(
    compiled: CompiledModel,
    lines: StepLines,
    inputs: tuple[torch.Tensor, ...],
    values: dict[str, tuple[torch.Tensor, ...]],
    cancelled: Callable[[], bool] | None,
) -> Any:
    """Run the module under a line tracer on its forward() frame, filling ``values``."""
    code = _forward_code(compiled)
    state: dict[str, Any] = {"pending": None}

    def collect(frame: FrameType) -> None:
        step = state["pending"]
        if step is None:
            return
        names = frame.f_locals  # one snapshot: each f_locals read copies every local
        found = tuple(names[t] for t in step.targets if t in names)
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

    previous = sys.gettrace()
    sys.settrace(global_trace)
    try:
        return compiled.module(*inputs)
    finally:
        sys.settrace(previous)


RECORD = "_lens_record_"
"""The keyword argument through which a recording forward() hands over each step's values."""

_RECORDING: weakref.WeakKeyDictionary[Callable, tuple[StepLines, Callable | None]] = (
    weakref.WeakKeyDictionary()
)
"""forward() function -> the step lines it was instrumented for and its recording copy."""


def recording_forward(compiled: CompiledModel, lines: StepLines) -> Callable | None:
    """The model's forward() compiled again from its own source, with one call after each
    step's statement that hands what it assigned to a ``_lens_record_`` keyword argument.

    The same statements run on the same submodules, so the values are the module's own; a
    tracer would be just as exact but pays for every line and every call it is shown (about
    half a forward pass of LeNet-5). None when the source cannot be matched to the function
    (the tracer is used then)."""
    forward = type(compiled.module).forward
    cached = _RECORDING.get(forward)
    if cached is not None and cached[0] is lines:
        return cached[1]
    recording = _instrumented(forward, compiled.code.source if compiled.code else "", lines)
    _RECORDING[forward] = (lines, recording)
    return recording


def _instrumented(forward: Callable, source: str, lines: StepLines) -> Callable | None:
    code: CodeType | None = getattr(forward, "__code__", None)
    if code is None or code.co_freevars or not source:
        return None
    function = next(
        (
            node
            for node in ast.walk(parse_source(source))
            if isinstance(node, ast.FunctionDef)
            and node.name == code.co_name
            and node.lineno == code.co_firstlineno
            and not node.decorator_list
        ),
        None,
    )
    if function is None or any(a.arg == RECORD for a in function.args.kwonlyargs):
        return None
    function.body = _with_records(function.body, lines.starts)
    function.args.kwonlyargs.append(ast.arg(RECORD))
    function.args.kw_defaults.append(None)
    tree = ast.fix_missing_locations(ast.Module(body=[function], type_ignores=[]))
    namespace: dict[str, Any] = {}
    exec(compile(tree, code.co_filename, "exec"), forward.__globals__, namespace)
    return namespace[code.co_name]


def _with_records(body: list[ast.stmt], starts: dict[int, StepLine]) -> list[ast.stmt]:
    """``body`` with a record call after each step's statement (before it for a return,
    whose step assigns nothing), inside compound statements too."""
    out: list[ast.stmt] = []
    for statement in body:
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(statement, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                setattr(statement, field, _with_records(inner, starts))
        for handler in getattr(statement, "handlers", ()):
            handler.body = _with_records(handler.body, starts)
        step = starts.get(statement.lineno)
        if step is None:
            out.append(statement)
            continue
        names: list[ast.expr] = [ast.Name(target, ast.Load()) for target in step.targets]
        call = ast.Call(
            ast.Name(RECORD, ast.Load()),
            [ast.Constant(step.node_id), ast.Tuple(names, ast.Load())],
            [],
        )
        record = ast.copy_location(ast.Expr(call), statement)
        ends = isinstance(statement, ast.Return | ast.Raise | ast.Continue | ast.Break)
        out += [record, statement] if ends else [statement, record]
    return out


class LensCancelled(Exception):
    """A newer request replaced this one before it finished."""


def tensors_of(items: tuple[Any, ...]) -> tuple[torch.Tensor, ...]:
    """The tensors among ``items`` and the tuples and lists they hold, in order."""
    if len(items) == 1 and isinstance(items[0], torch.Tensor):
        return items  # the usual step: one tensor assigned
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
