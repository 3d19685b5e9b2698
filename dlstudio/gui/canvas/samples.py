"""Generated graphs of any size, for demos, benchmarks and tests of the canvas."""

from __future__ import annotations

from dlstudio.core import Edge, LayerGraph, LayerNode, PortRef

_ROW = 120.0


def resnet_like(num_nodes: int = 500, channels: int = 16) -> LayerGraph:
    """A valid ResNet-style graph of about ``num_nodes`` nodes: a stem, residual blocks
    (conv-bn-relu-conv-bn-add-relu with a skip wire), then pooling and a classifier."""
    graph = LayerGraph(f"resnet-like-{num_nodes}")
    row = 0

    def add(type_id: str, name: str, params: dict | None = None, column: float = 0.0) -> str:
        nonlocal row
        node_id = f"n{len(graph) + 1}"
        position = (column, row * _ROW)
        graph.insert_node(LayerNode(node_id, type_id, name, dict(params or {}), position))
        row += 1
        return node_id

    def wire(src: str, dst: str, port: str = "in") -> None:
        graph.insert_edge(Edge(PortRef(src, "out"), PortRef(dst, port)))

    prev = add("input", "image", {"shape": (3, 32, 32)})
    for name, type_id, params in (
        ("conv1", "conv2d", {"out_channels": channels, "kernel_size": 3, "padding": 1}),
        ("bn1", "batchnorm2d", {}),
        ("relu1", "relu", {}),
    ):
        node = add(type_id, name, params)
        wire(prev, node)
        prev = node
    block = 0
    while len(graph) + 7 + 5 <= num_nodes:
        block += 1
        skip = prev
        for j, (type_id, params) in enumerate(
            (
                ("conv2d", {"out_channels": channels, "kernel_size": 3, "padding": 1}),
                ("batchnorm2d", {}),
                ("relu", {}),
                ("conv2d", {"out_channels": channels, "kernel_size": 3, "padding": 1}),
                ("batchnorm2d", {}),
            )
        ):
            node = add(type_id, f"b{block}_{type_id.rstrip('2d')}{j + 1}", params)
            wire(prev, node)
            prev = node
        merge = add("add", f"b{block}_add", {})
        wire(prev, merge, "in1")
        wire(skip, merge, "in2")
        prev = add("relu", f"b{block}_relu", {})
        wire(merge, prev)
    for name, type_id, params in (
        ("pool", "global_avgpool", {}),
        ("fc", "dense", {"units": 10}),
        ("logits", "output", {}),
    ):
        node = add(type_id, name, params)
        wire(prev, node)
        prev = node
    return graph
