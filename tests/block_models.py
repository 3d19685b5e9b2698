"""Small models with blocks, built from core primitives, for the core/analysis/compile tests."""

from __future__ import annotations

from typing import Any

from dlstudio.core import Edge, LayerGraph, LayerNode, PortRef
from dlstudio.core.blocks import BlockDefinition, BlockParam


class _Builder:
    def __init__(self, graph: LayerGraph) -> None:
        self.graph = graph

    def add(self, type_id: str, name: str, *inputs: PortRef, **params: Any) -> PortRef:
        node_id = self.graph.new_node_id()
        self.graph.insert_node(LayerNode(node_id, type_id, name, dict(params)))
        ports = ["in"] if len(inputs) == 1 else [f"in{i}" for i in range(1, len(inputs) + 1)]
        if type_id == "add":
            self.graph.update_node(node_id, params={"inputs": len(inputs), **params})
        for port, src in zip(ports, inputs, strict=True):
            self.graph.insert_edge(Edge(src, PortRef(node_id, port)))
        return PortRef(node_id, "out")


def residual_block() -> BlockDefinition:
    """conv-bn-relu-conv-bn + identity, relu; ``channels`` sets both convolutions."""
    graph = LayerGraph("Residual")
    b = _Builder(graph)
    x = b.add("input", "x", shape=(8, 6, 6))
    y = b.add("conv2d", "conv1", x, out_channels="=channels", kernel_size=3, padding=1)
    y = b.add("batchnorm2d", "bn1", y)
    y = b.add("relu", "relu1", y)
    y = b.add("conv2d", "conv2", y, out_channels="=channels", kernel_size=3, padding=1)
    y = b.add("batchnorm2d", "bn2", y)
    y = b.add("add", "add", y, x)
    y = b.add("relu", "relu2", y)
    b.add("output", "out", y)
    params = (BlockParam("channels", "int", 8, "Channels in and out.", minimum=1),)
    return BlockDefinition("Residual", graph, params, "A residual block.")


def projection_block() -> BlockDefinition:
    """A numbered chain (conv ``0``, batch norm ``1``): an nn.Sequential, like a downsample."""
    graph = LayerGraph("Projection")
    b = _Builder(graph)
    x = b.add("input", "x", shape=(8, 6, 6))
    y = b.add("conv2d", "0", x, out_channels="=channels * 2", kernel_size=1, stride="=stride")
    y = b.add("batchnorm2d", "1", y)
    b.add("output", "out", y)
    params = (
        BlockParam("channels", "int", 8, minimum=1),
        BlockParam("stride", "int", 1, minimum=1),
    )
    return BlockDefinition("Projection", graph, params)


def residual_model(repeat: int = 2, channels: int = 8) -> LayerGraph:
    """Input (3, 12, 12) -> stem conv -> Residual x repeat -> Projection -> pool -> Dense 4."""
    graph = LayerGraph("blocky")
    graph.blocks = {"Residual": residual_block(), "Projection": projection_block()}
    b = _Builder(graph)
    x = b.add("input", "image", shape=(3, 12, 12))
    y = b.add("conv2d", "stem", x, out_channels=channels, kernel_size=3, padding=1)
    y = b.add("block", "stage1", y, block="Residual", repeat=repeat, channels=channels)
    y = b.add("block", "proj", y, block="Projection", channels=channels, stride=2)
    y = b.add("global_avgpool", "pool", y)
    y = b.add("dense", "fc", y, units=4)
    b.add("output", "logits", y)
    return graph
