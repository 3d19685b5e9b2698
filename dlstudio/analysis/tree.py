"""The model as a tree of rows for summaries: every layer in execution order, block instances
followed by their insides (each copy of a repeating instance under ``name.k``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from dlstudio.analysis.result import AnalysisResult, NodeInfo
from dlstudio.core.blocks import BLOCK_TYPE
from dlstudio.core.graph import LayerGraph, LayerNode
from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.layers import get_layer_type, has_layer_type

_PORT_TYPES = ("input", "output")


@dataclass(frozen=True)
class SummaryRow:
    """One row: a layer, a block instance, or one copy of a repeating instance."""

    path: str
    """The module path (``layer2.0.conv1``); for a top-level layer its name."""
    depth: int
    name: str
    type_label: str
    type_id: str
    node: LayerNode | None
    """The node (None for the row of one copy of a repeating instance)."""
    info: NodeInfo | None
    location: tuple[str, ...]
    """Node ids from the top graph down to this node (empty tail for a copy row)."""
    copy_params: int | None = None
    copy_macs: int | None = None
    copy_outputs: tuple[TensorSpec, ...] = ()

    @property
    def outputs(self) -> tuple[TensorSpec, ...]:
        """The specs this row produces (for a copy row: what that copy returns)."""
        if self.node is None:
            return self.copy_outputs
        return tuple(self.info.outputs.values()) if self.info else ()

    @property
    def params(self) -> int | None:
        """Parameters of this row (everything inside, for an instance or a copy)."""
        return (
            self.copy_params
            if self.node is None
            else (self.info.param_count if self.info else None)
        )

    @property
    def macs(self) -> int | None:
        """Multiply-accumulates per example of this row."""
        return self.copy_macs if self.node is None else (self.info.macs if self.info else None)

    @property
    def is_block(self) -> bool:
        """True for an instance or a copy row: rows follow it one level deeper."""
        return self.node is None or self.node.type_id == BLOCK_TYPE


def type_label(node: LayerNode, info: NodeInfo | None = None) -> str:
    """The type shown for a node: the layer's label, or the block's definition name
    (``BasicBlock ×2`` when it repeats)."""
    if node.type_id == BLOCK_TYPE:
        name = str(node.params.get("block", "block"))
        repeat = node.params.get("repeat", 1)
        return f"{name} ×{repeat}" if isinstance(repeat, int) and repeat > 1 else name
    return get_layer_type(node.type_id).label if has_layer_type(node.type_id) else node.type_id


def summary_rows(root: LayerGraph, result: AnalysisResult) -> list[SummaryRow]:
    """Every row of the model in execution order, insides right after their instance."""
    return list(_rows(root, root, result, "", 0, ()))


def _ordered(graph: LayerGraph, result: AnalysisResult) -> list[str]:
    ids = [nid for nid in result.order if nid in graph]
    return ids + [nid for nid in graph.nodes if nid not in result.order]  # nodes stuck in cycles


def _rows(
    root: LayerGraph,
    graph: LayerGraph,
    result: AnalysisResult,
    prefix: str,
    depth: int,
    location: tuple[str, ...],
) -> Iterator[SummaryRow]:
    for node_id in _ordered(graph, result):
        node = graph.node(node_id)
        if depth and node.type_id in _PORT_TYPES:
            continue  # a block's Input and Output nodes are its ports, not layers
        info = result.nodes.get(node_id)
        path = f"{prefix}{node.name}"
        here = (*location, node_id)
        yield SummaryRow(path, depth, node.name, type_label(node), node.type_id, node, info, here)
        if node.type_id != BLOCK_TYPE or info is None or not info.children:
            continue
        definition = root.blocks.get(str(node.params.get("block")))
        if definition is None:
            continue
        if len(info.children) == 1 and node.params.get("repeat", 1) == 1:
            yield from _rows(root, definition.graph, info.children[0], f"{path}.", depth + 1, here)
            continue
        for k, child in enumerate(info.children):
            returned = [child.nodes.get(i) for i in definition.output_ports().values()]
            outputs = tuple(r.inputs["in"] for r in returned if r is not None and "in" in r.inputs)
            yield SummaryRow(
                f"{path}.{k}",
                depth + 1,
                f"{node.name}.{k}",
                definition.name,
                BLOCK_TYPE,
                None,
                None,
                here,
                child.total_params,
                child.total_macs,
                outputs,
            )
            yield from _rows(root, definition.graph, child, f"{path}.{k}.", depth + 2, here)
