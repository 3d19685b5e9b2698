"""The new layers inside a block class: a ConvNeXt-style block with a learned LayerScale
Parameter, StochasticDepth and a GroupNorm whose sizes come from the block's parameter,
repeated; the class computes what the same layers compute by hand."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dlstudio.compile import compile_graph
from dlstudio.core import Edge, LayerGraph, LayerNode, PortRef
from dlstudio.core.blocks import BlockDefinition, BlockParam


def _add(graph: LayerGraph, type_id: str, name: str, *inputs, ports=None, **params) -> PortRef:
    node_id = graph.new_node_id()
    graph.insert_node(LayerNode(node_id, type_id, name, params))
    for port, src in zip(ports or ["in"] * len(inputs), inputs, strict=True):
        graph.insert_edge(Edge(src, PortRef(node_id, port)))
    return PortRef(node_id, "out")


def _scaled_block() -> BlockDefinition:
    graph = LayerGraph("Scaled")
    x = _add(graph, "input", "x", shape=(8, 5, 5))
    y = _add(graph, "conv2d", "conv", x, out_channels="=dim", kernel_size=3, padding=1)
    y = _add(graph, "groupnorm", "norm", y, num_groups=2)
    scale = _add(graph, "parameter", "layer_scale", shape=("=dim", 1, 1), value=0.5)
    y = _add(graph, "multiply", "scaled", scale, y, ports=["in1", "in2"])
    y = _add(graph, "stochastic_depth", "stochastic_depth", y, p=0.2)
    y = _add(graph, "add", "residual", y, x, ports=["in1", "in2"])
    _add(graph, "output", "out", y)
    return BlockDefinition("Scaled", graph, (BlockParam("dim", "int", 8, minimum=1),))


def test_layer_scale_block_repeats_with_its_keys_and_numbers() -> None:
    graph = LayerGraph("convnext_like")
    graph.blocks = {"Scaled": _scaled_block()}
    x = _add(graph, "input", "image", shape=(8, 5, 5))
    y = _add(graph, "block", "stage", x, block="Scaled", repeat=2, dim=8)
    _add(graph, "output", "y", y)
    compiled = compile_graph(graph)
    assert "self.layer_scale = nn.Parameter(torch.full((dim, 1, 1), 0.5))" in compiled.source
    module = compiled.module.eval()
    state = module.state_dict()
    assert state["stage.1.layer_scale"].shape == (8, 1, 1)
    assert {k for k in state if k.startswith("stage.0.")} == {
        "stage.0.conv.weight",
        "stage.0.conv.bias",
        "stage.0.norm.weight",
        "stage.0.norm.bias",
        "stage.0.layer_scale",
    }
    image = torch.randn(2, 8, 5, 5)
    expected = image
    for i in range(2):
        w = {k.split(".", 2)[2]: v for k, v in state.items() if k.startswith(f"stage.{i}.")}
        y = F.conv2d(expected, w["conv.weight"], w["conv.bias"], padding=1)
        y = F.group_norm(y, 2, w["norm.weight"], w["norm.bias"])
        expected = w["layer_scale"] * y + expected
    with torch.no_grad():
        torch.testing.assert_close(module(image), expected)
