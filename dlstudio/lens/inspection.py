"""Every node's output for ``inspect``: the model's nodes and, inside each block instance, its
inner layers, named by their path (``layer2/conv1``) as the window's lens shows them."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dlstudio.compile.build import CompiledModel
from dlstudio.core.blocks import BLOCK_TYPE
from dlstudio.core.graph import LayerGraph
from dlstudio.lens.engine import LensEngine
from dlstudio.lens.examples import Example
from dlstudio.lens.inner import LensScopeError
from dlstudio.lens.summary import NodeView


@dataclass(frozen=True)
class InspectedNode:
    """One node's output on the example, where it sits, and its first sample."""

    path: str
    """Instance names from the model down, then the node's name: ``layer2/conv1``."""
    view: NodeView
    sample: torch.Tensor


@dataclass
class Inspection:
    """What ``inspect`` writes: the nodes in the order they run, each block instance followed
    by its inner layers; and why an instance could not be looked into, if one could not."""

    nodes: list[InspectedNode]
    notes: list[str]


def inspect_nodes(
    graph: LayerGraph,
    compiled: CompiledModel,
    example: Example,
    class_names: list[str] | None = None,
    inner: bool = True,
) -> Inspection:
    """Run the lens on ``example``; with ``inner``, also inside every block instance (nested
    ones too; the first copy of a repeated one, the copy the canvas' shapes describe)."""
    inspection = Inspection([], [])
    _visit(LensEngine(graph, compiled, class_names), (), "", example, inner, inspection)
    return inspection


def _visit(
    engine: LensEngine,
    path: tuple[str, ...],
    prefix: str,
    example: Example,
    inner: bool,
    inspection: Inspection,
) -> None:
    result = engine.run(example, thumbnails=False)
    analysis = engine.scope.analysis if engine.scope is not None else engine.compiled.analysis
    ordered = [n for n in analysis.order if n in result.views] if analysis is not None else []
    ordered += [n for n in result.views if n not in set(ordered)]
    for node_id in ordered:
        view = result.views[node_id]
        value = result.values[node_id][0]
        sample = value[0] if value.dim() > 0 else value
        inspection.nodes.append(InspectedNode(prefix + view.name, view, sample))
        if not inner or engine.graph.node(node_id).type_id != BLOCK_TYPE:
            continue
        try:
            deeper = LensEngine(
                engine.root, engine.compiled, engine.class_names, path=(*path, node_id)
            )
        except LensScopeError as exc:
            inspection.notes.append(str(exc))
            continue
        _visit(deeper, (*path, node_id), f"{prefix}{view.name}/", example, inner, inspection)
