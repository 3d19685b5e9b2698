"""Small models with blocks for the editor's tests (built with the core API, no torch)."""

from __future__ import annotations

from typing import Any

from dlstudio.analysis.layout import auto_layout
from dlstudio.core import Edge, LayerGraph, LayerNode, PortRef
from dlstudio.core.blocks import BlockDefinition, BlockParam


class Builder:
    """Named layers wired like a ``forward`` method: ``x = b.layer("relu", "relu1", x)``."""

    def __init__(self, name: str) -> None:
        self.graph = LayerGraph(name)

    def layer(self, type_id: str, name: str, *inputs: str, **params: Any) -> str:
        """Add a node fed by ``inputs`` (node ids; ports in, in2... for Add); its id."""
        node_id = self.graph.new_node_id()
        self.graph.insert_node(LayerNode(node_id, type_id, name, params, (0.0, 0.0)))
        for k, src in enumerate(inputs):
            port = "in" if k == 0 and type_id != "add" else f"in{k + 1}"
            self.graph.insert_edge(Edge(PortRef(src, "out"), PortRef(node_id, port)))
        return node_id

    def laid_out(self) -> LayerGraph:
        """The graph with auto-layout positions."""
        for node_id, position in auto_layout(self.graph, "TB").items():
            self.graph.nodes[node_id].position = position
        return self.graph


def residual_model() -> LayerGraph:
    """A flat model with one residual branch: conv_a, relu_a, conv_b, add (skip from stem)."""
    b = Builder("residual")
    x = b.layer("input", "image", shape=(8, 8, 8))
    stem = b.layer("conv2d", "stem", x, out_channels=8, kernel_size=3, padding=1)
    y = b.layer("conv2d", "conv_a", stem, out_channels=8, kernel_size=3, padding=1)
    y = b.layer("relu", "relu_a", y)
    y = b.layer("conv2d", "conv_b", y, out_channels=8, kernel_size=3, padding=1)
    y = b.layer("add", "add", y, stem)
    y = b.layer("relu", "relu", y)
    y = b.layer("flatten", "flat", y)
    y = b.layer("dense", "fc", y, units=10)
    b.layer("output", "output", y)
    return b.laid_out()


def basic_block(name: str = "BasicBlock", channels: int = 8) -> BlockDefinition:
    """conv-bn-relu-conv-bn, plus the input, then relu; ``channels`` is a block parameter."""
    b = Builder(name)
    x = b.layer("input", "x", shape=(channels, 8, 8))
    y = b.layer("conv2d", "conv1", x, out_channels="=channels", kernel_size=3, padding=1)
    y = b.layer("batchnorm2d", "bn1", y)
    y = b.layer("relu", "relu", y)
    y = b.layer("conv2d", "conv2", y, out_channels="=channels", kernel_size=3, padding=1)
    y = b.layer("batchnorm2d", "bn2", y)
    y = b.layer("add", "add", y, x)
    y = b.layer("relu", "relu2", y)
    b.layer("output", "out", y)
    params = (BlockParam("channels", "int", channels, "Channels of both convolutions.", 1),)
    return BlockDefinition(name, b.laid_out(), params, "Two 3x3 convolutions with a skip.")


def block_model(repeat: int = 2, channels: int = 8) -> LayerGraph:
    """image -> stem -> layer1 (BasicBlock, repeated) -> flatten -> fc -> output."""
    b = Builder("net")
    x = b.layer("input", "image", shape=(3, 8, 8))
    y = b.layer("conv2d", "stem", x, out_channels=channels, kernel_size=3, padding=1)
    y = b.layer("block", "layer1", y, block="BasicBlock", repeat=repeat, channels=channels)
    y = b.layer("flatten", "flat", y)
    y = b.layer("dense", "fc", y, units=10)
    b.layer("output", "output", y)
    b.graph.blocks["BasicBlock"] = basic_block(channels=channels)
    return b.laid_out()


def nested_model() -> LayerGraph:
    """A model whose block ``Stage`` holds an instance of ``BasicBlock``."""
    stage = Builder("Stage")
    x = stage.layer("input", "x", shape=(8, 8, 8))
    y = stage.layer("block", "unit", x, block="BasicBlock", channels=8)
    y = stage.layer("relu", "act", y)
    stage.layer("output", "out", y)
    b = Builder("deep")
    x = b.layer("input", "image", shape=(8, 8, 8))
    y = b.layer("block", "stage1", x, block="Stage")
    y = b.layer("flatten", "flat", y)
    y = b.layer("dense", "fc", y, units=10)
    b.layer("output", "output", y)
    b.graph.blocks["BasicBlock"] = basic_block()
    b.graph.blocks["Stage"] = BlockDefinition("Stage", stage.laid_out())
    return b.laid_out()
