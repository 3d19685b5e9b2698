"""The lens inside a block: the inner layers of the one instance the canvas shows.

The canvas shows a block's definition reached through a path of instance ids from the model
(``DocumentLevel.path``). Each instance is a submodule of the one around it (the compiled
attribute names, :attr:`GeneratedCode.attrs` at the top and :attr:`BlockCode.attrs` inside); a
repeated instance is an ``nn.Sequential`` of copies, of which one is read (the first by default,
the copy the canvas' shapes describe). Its inner values come from the block class's own
forward(), read by a line tracer that follows only frames whose ``self`` is that submodule, so
the other instances of the same class are left alone; a chain (an ``nn.Sequential`` of the
inner layers) is read with forward hooks on its layers.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

import torch
from torch import nn

from dlstudio.analysis import AnalysisResult
from dlstudio.compile.build import CompiledModel
from dlstudio.compile.codegen.blocks import BlockCode
from dlstudio.core.blocks import BLOCK_TYPE
from dlstudio.core.errors import DLStudioError
from dlstudio.core.graph import LayerGraph
from dlstudio.lens.capture import LensCancelled, statement_steps, tensors_of


class LensScopeError(DLStudioError):
    """The instance path does not lead to a block the compiled model holds."""


@dataclass(frozen=True)
class Scope:
    """One opened instance: its definition's graph, the submodule and how to read it."""

    path: tuple[str, ...]
    graph: LayerGraph
    """The definition's graph (the node ids the canvas shows)."""
    analysis: AnalysisResult | None
    """The analysis of the copy read."""
    module: nn.Module
    code: BlockCode
    copy: int
    """Which copy of a repeated instance is read (0-based)."""
    copies: int
    label: str
    """``layer1 (copy 1 of 2)``: where the values come from, for people."""


def resolve_scope(
    compiled: CompiledModel, root: LayerGraph, path: tuple[str, ...], copy: int = 0
) -> Scope:
    """The instance reached by ``path`` (instance node ids from the model down); ``copy``
    picks the copy of the innermost instance when it is repeated (outer ones: their first)."""
    if compiled.code is None or not path:
        raise LensScopeError("the lens reads a block only from a compiled model and a path")
    blocks = compiled.code.blocks
    graph, analysis, module = root, compiled.analysis, compiled.module
    attrs = compiled.code.attrs
    names: list[str] = []
    scope: Scope | None = None
    for depth, node_id in enumerate(path):
        node = graph.nodes.get(node_id)
        if (
            node is None
            or node.type_id != BLOCK_TYPE
            or node.params.get("block") not in root.blocks
        ):
            raise LensScopeError(
                f"no block instance {node_id!r} at {' > '.join(names) or 'the top'}"
            )
        definition = root.blocks[node.params["block"]]
        names.append(node.name)
        child = _submodule(module, attrs.get(node_id))
        if not isinstance(child, nn.Module):
            raise LensScopeError(
                f"{' > '.join(names)}: this instance has no layers in the compiled model (a "
                "condition leaves it out); the lens has nothing to show inside it"
            )
        wanted = copy if depth == len(path) - 1 else 0
        child, code, index, count = _instance(child, definition.name, blocks, wanted)
        info = analysis.nodes.get(node_id) if analysis is not None else None
        children = info.children if info is not None else []
        analysis = children[min(index, len(children) - 1)] if children else None
        graph, module, attrs = definition.graph, child, code.attrs
        label = " > ".join(names)
        if count > 1:
            label += f" (copy {index + 1} of {count})"
        scope = Scope(path[: depth + 1], graph, analysis, module, code, index, count, label)
    assert scope is not None
    return scope


def _submodule(module: nn.Module, attr: str | None) -> nn.Module | None:
    """``module.<attr>``, or None where there is none (a block left out by its condition is
    ``self.downsample = None``)."""
    if not attr:
        return None
    try:
        return module.get_submodule(attr)
    except AttributeError:
        return None


def _instance(
    module: nn.Module, definition: str, blocks: dict[str, BlockCode], copy: int
) -> tuple[nn.Module, BlockCode, int, int]:
    """(the instance's module, its class layout, the copy read, how many copies)."""
    own = blocks.get(type(module).__name__)
    if own is not None and own.definition == definition:
        return module, own, 0, 1
    if isinstance(module, nn.Sequential) and len(module) > 0:
        first = blocks.get(type(module[0]).__name__)
        if first is not None and first.definition == definition:
            index = max(0, min(copy, len(module) - 1))
            picked = module[index]
            return picked, blocks[type(picked).__name__], index, len(module)
    inline = blocks.get(f"[{definition}]")
    if inline is not None:
        return module, inline, 0, 1
    raise LensScopeError(f"block {definition}: the compiled model has no class for it")


def capture_inside(
    scope: Scope,
    compiled: CompiledModel,
    inputs: tuple[torch.Tensor, ...],
    cancelled: Callable[[], bool] | None = None,
) -> tuple[dict[str, tuple[torch.Tensor, ...]], tuple[torch.Tensor, ...]]:
    """Run the whole model on ``inputs`` and keep the inner values of ``scope``'s instance
    (its first call): inner node id -> tensors, as :func:`~dlstudio.lens.capture.capture`;
    and the model's outputs."""
    values: dict[str, tuple[torch.Tensor, ...]] = {}
    graph = scope.graph
    ins = [n.id for n in graph if n.type_id == "input"]
    outs = [n.id for n in graph if n.type_id == "output"]
    target = scope.module
    handles = []

    def check() -> None:
        if cancelled is not None and cancelled():
            raise LensCancelled()

    def before(_module: nn.Module, args: tuple[Any, ...]) -> None:
        for node_id, arg in zip(ins, args, strict=False):
            values.setdefault(node_id, tensors_of((arg,)))

    def after(_module: nn.Module, _args: Any, output: Any) -> None:
        found = tensors_of((output,))
        for node_id, tensor in zip(outs, found, strict=False):
            values.setdefault(node_id, (tensor,))

    handles.append(target.register_forward_pre_hook(before))
    handles.append(target.register_forward_hook(after))
    tracer = None
    if scope.code.chain:
        for node_id, attr in scope.code.attrs.items():
            layer = target.get_submodule(attr)

            def hook(_m: nn.Module, _a: Any, output: Any, node_id: str = node_id) -> None:
                check()
                values.setdefault(node_id, tensors_of((output,)))

            handles.append(layer.register_forward_hook(hook))
    else:
        tracer = _tracer(scope, compiled, values, check)
    previous = sys.gettrace()
    try:
        if tracer is not None:
            sys.settrace(tracer)
        with torch.no_grad():
            outputs = compiled.module(*inputs)
    finally:
        if tracer is not None:
            sys.settrace(previous)
        for handle in handles:
            handle.remove()
    if isinstance(outputs, torch.Tensor):
        outputs = (outputs,)
    return values, tuple(outputs)


def _tracer(
    scope: Scope,
    compiled: CompiledModel,
    values: dict[str, tuple[torch.Tensor, ...]],
    check: Callable[[], None],
) -> Callable:
    """A global trace function reading the lines of ``scope.module``'s own forward() frame."""
    assert compiled.code is not None
    lines = statement_steps(compiled.code.source, dict(scope.code.lines))
    code = type(scope.module).forward.__code__
    target = scope.module
    state: dict[str, Any] = {"pending": None, "done": False}

    def local(frame: FrameType, event: str, _arg: Any) -> Callable | None:
        if event == "line" and frame.f_lineno in lines.inside:
            return local  # still inside a wrapped statement: its targets are not set yet
        step = state["pending"]
        if step is not None and event in ("line", "return"):
            found = tuple(frame.f_locals[t] for t in step.targets if t in frame.f_locals)
            values.setdefault(step.node_id, tensors_of(found))
            state["pending"] = None
        if event == "line":
            check()
            state["pending"] = lines.starts.get(frame.f_lineno)
        elif event == "return":
            state["done"] = True  # a shared instance called again keeps its first values
        return local

    def global_trace(frame: FrameType, event: str, _arg: Any) -> Callable | None:
        if (
            event == "call"
            and not state["done"]
            and frame.f_code is code
            and frame.f_locals.get("self") is target
        ):
            return local
        return None

    return global_trace
