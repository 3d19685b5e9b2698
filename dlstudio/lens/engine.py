"""The lens engine: every node's output on a pinned example, summarised for drawing.

One engine serves the window (on a worker thread, cancelled by the next edit), ``inspect``,
``explain`` and ``embeddings`` on the command line, so the numbers are checked once for all.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from dlstudio.compile.build import CompiledModel
from dlstudio.core.graph import LayerGraph
from dlstudio.lens import render
from dlstudio.lens.capture import capture, step_lines
from dlstudio.lens.examples import Example
from dlstudio.lens.inner import Scope, capture_inside, resolve_scope
from dlstudio.lens.summary import (
    NodeView,
    Statistics,
    many_statistics,
    numpy_view,
    view_kind,
)

THUMBNAIL = 96
"""Longest side of a canvas thumbnail, in pixels."""


@dataclass
class LensResult:
    """What one lens run saw: a view per node (its first output) and the full values."""

    example: Example
    views: dict[str, NodeView]
    values: dict[str, tuple[torch.Tensor, ...]] = field(repr=False)
    outputs: tuple[torch.Tensor, ...] = field(repr=False)

    def value(self, node_id: str, port_index: int = 0) -> np.ndarray:
        """The full output of a node for the example (batch axis removed)."""
        return self.values[node_id][port_index][0].detach().float().cpu().numpy()


class LensEngine:
    """Runs a compiled model on an example and turns each node's output into a view.

    With a ``path`` (instance node ids from the model down, as the canvas opened them) the
    views are the inner layers of that instance (``copy`` picks the copy of a repeated one):
    :attr:`graph` is then its definition's graph."""

    def __init__(
        self,
        graph: LayerGraph,
        compiled: CompiledModel,
        class_names: list[str] | None = None,
        path: tuple[str, ...] = (),
        copy: int = 0,
    ) -> None:
        self.root = graph
        self.compiled = compiled
        self.class_names = class_names
        self.scope: Scope | None = resolve_scope(compiled, graph, path, copy) if path else None
        self.graph = self.scope.graph if self.scope is not None else graph
        self._analysis = self.scope.analysis if self.scope is not None else compiled.analysis
        self._outputs_fed = {
            edge.src.node
            for edge in self.graph.edges
            if self.graph.node(edge.dst.node).type_id == "output"
        }
        self._described: dict[
            str, tuple[torch.Size, torch.dtype, str, str, tuple[int, ...], str, str]
        ] = {}
        """node id -> what its view says besides its numbers (see _describe)."""
        self._lines = step_lines(compiled, graph) if self.scope is None else None
        compiled.module.eval()

    def run(
        self,
        example: Example,
        cancelled: Callable[[], bool] | None = None,
        thumbnails: bool = True,
    ) -> LensResult:
        """Compute every node's output on ``example``; raises ``LensCancelled`` when
        ``cancelled()`` turns True part-way."""
        values, outputs = self.capture(example, cancelled)
        firsts = {node_id: tensors[0] for node_id, tensors in values.items() if tensors}
        # One statistics pass over all nodes' first samples, read through numpy where it can
        # share the memory (indexing a tensor costs microseconds a node, numpy's nanoseconds).
        stats = many_statistics([_first_sample(tensor) for tensor in firsts.values()])
        views = {
            node_id: self._view(node_id, tensor, summary, example, thumbnails)
            for (node_id, tensor), summary in zip(firsts.items(), stats, strict=True)
        }
        return LensResult(example, views, values, outputs)

    def capture(
        self, example: Example, cancelled: Callable[[], bool] | None = None
    ) -> tuple[dict[str, tuple[torch.Tensor, ...]], tuple[torch.Tensor, ...]]:
        """Every node's tensors on ``example`` (no statistics, no pictures)."""
        if self.scope is not None:
            return capture_inside(self.scope, self.compiled, example.inputs, cancelled)
        return capture(
            self.compiled, self.graph, example.inputs, cancelled=cancelled, lines=self._lines
        )

    def _view(
        self,
        node_id: str,
        tensor: torch.Tensor,
        summary: Statistics,
        example: Example,
        thumbnails: bool,
    ) -> NodeView:
        described = self._described.get(node_id)
        if described is None or described[0] != tensor.shape or described[1] is not tensor.dtype:
            described = self._described[node_id] = self._describe(node_id, tensor)
        _, _, name, port, shape, dtype, kind = described
        low, high, mean, std = summary
        thumb = None
        if thumbnails:
            sample = tensor[0] if tensor.dim() > 0 else tensor
            thumb = draw(sample, kind, example.tokens, self.class_names, THUMBNAIL)
        return NodeView(node_id, name, port, shape, dtype, low, high, mean, std, kind, thumb)

    def _describe(
        self, node_id: str, tensor: torch.Tensor
    ) -> tuple[torch.Size, torch.dtype, str, str, tuple[int, ...], str, str]:
        """What a node's view says besides its numbers, kept per node while the value's shape
        and dtype stay (a refresh re-reads them for every node: microseconds each)."""
        node = self.graph.node(node_id)
        info = self._analysis.nodes.get(node_id) if self._analysis else None
        port = next(iter(info.outputs), "out") if info is not None and info.outputs else "out"
        shape = tuple(tensor.shape[1:])
        dtype = _dtype_name(tensor.dtype)
        kind = view_kind(shape, dtype, node.type_id, node_id in self._outputs_fed)
        return tensor.shape, tensor.dtype, node.name, port, shape, dtype, kind


@functools.cache
def _dtype_name(dtype: torch.dtype) -> str:
    """``float32`` for ``torch.float32``."""
    return str(dtype).removeprefix("torch.")


def _first_sample(tensor: torch.Tensor) -> torch.Tensor | np.ndarray:
    """The first sample of a batched value (a scalar stays as it is), as a numpy view where
    numpy can share the tensor's memory."""
    array = numpy_view(tensor)
    if array is not None:
        return array[0] if array.ndim > 0 else array
    return tensor[0] if tensor.dim() > 0 else tensor


def draw(
    sample: torch.Tensor,
    kind: str,
    tokens: tuple[str, ...] | None,
    class_names: list[str] | None,
    longest: int = 512,
) -> np.ndarray:
    """The picture of one sample's value drawn as ``kind`` (see summary.VIEW_KINDS)."""
    data = sample.detach().float().cpu().numpy()
    if kind == "image":
        return render.image(data, longest)
    if kind == "feature_maps":
        return render.feature_grid(data, longest)
    compact = longest < 160  # a thumbnail: no text, about as tall as it is wide
    if kind == "sequence":
        # Label the rows only when they are the tokens (a class token or a pooled sequence
        # shifts or changes the steps: the labels would name the wrong rows).
        fits = tokens is not None and data.ndim == 2 and len(tokens) == data.shape[0]
        return render.heat_strip(data, tokens if fits and not compact else None, longest)
    if kind == "classes":
        if compact:
            return render.mini_bars(data, longest, longest * 2 // 3)
        return render.class_bars(data, class_names, width=longest)
    if compact:
        return render.histogram(data, bins=24, width=longest, height=longest * 2 // 3)
    return render.histogram(data, width=longest, height=max(longest // 2, 80))
