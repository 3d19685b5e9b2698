"""Generated graphs for benchmarks: a ResNet-50, chains of residual blocks of any size, and a
laid-out ResNet-like graph for the canvas."""

from __future__ import annotations

from dlstudio.core import Edge, LayerGraph, LayerNode, PortRef


class _Builder:
    def __init__(self, name: str) -> None:
        self.graph = LayerGraph(name)

    def add(self, type_id: str, name: str, src: str | None, **params) -> str:
        node_id = self.graph.new_node_id()
        self.graph.insert_node(LayerNode(node_id, type_id, name, params))
        if src is not None:
            self.wire(src, node_id)
        return node_id

    def wire(self, src: str, dst: str, port: str = "in") -> None:
        self.graph.insert_edge(Edge(PortRef(src, "out"), PortRef(dst, port)))


def resnet50() -> LayerGraph:
    """ResNet-50 (bottleneck blocks 3-4-6-3) at 3x224x224: about 175 nodes."""
    b = _Builder("resnet50")
    x = b.add("input", "input", None, shape=(3, 224, 224))
    x = b.add("conv2d", "conv1", x, out_channels=64, kernel_size=7, stride=2, padding=3, bias=False)
    x = b.add("batchnorm2d", "bn1", x)
    x = b.add("relu", "relu", x)
    x = b.add("maxpool2d", "maxpool", x, kernel_size=3, stride=2, padding=1)
    in_ch = 64
    for stage, (blocks, width) in enumerate(
        zip((3, 4, 6, 3), (64, 128, 256, 512), strict=True), start=1
    ):
        for block in range(blocks):
            stride = 2 if block == 0 and stage > 1 else 1
            p = f"layer{stage}_{block}_"
            y = b.add("conv2d", p + "conv1", x, out_channels=width, kernel_size=1, bias=False)
            y = b.add("batchnorm2d", p + "bn1", y)
            y = b.add("relu", p + "relu1", y)
            y = b.add(
                "conv2d",
                p + "conv2",
                y,
                out_channels=width,
                kernel_size=3,
                stride=stride,
                padding=1,
                bias=False,
            )
            y = b.add("batchnorm2d", p + "bn2", y)
            y = b.add("relu", p + "relu2", y)
            y = b.add("conv2d", p + "conv3", y, out_channels=width * 4, kernel_size=1, bias=False)
            y = b.add("batchnorm2d", p + "bn3", y)
            shortcut = x
            if block == 0:
                shortcut = b.add(
                    "conv2d",
                    p + "downsample_conv",
                    x,
                    out_channels=width * 4,
                    kernel_size=1,
                    stride=stride,
                    bias=False,
                )
                shortcut = b.add("batchnorm2d", p + "downsample_bn", shortcut)
            add = b.add("add", p + "add", None)
            b.wire(y, add, "in1")
            b.wire(shortcut, add, "in2")
            x = b.add("relu", p + "relu3", add)
            in_ch = width * 4
    x = b.add("adaptive_avgpool2d", "avgpool", x)
    x = b.add("flatten", "flatten", x)
    x = b.add("dense", "fc", x, units=1000)
    b.add("output", "output", x)
    assert in_ch == 2048
    return b.graph


def residual_chain(node_count: int) -> LayerGraph:
    """Input, then residual blocks (dense, relu, dense, add) until ``node_count`` nodes."""
    b = _Builder(f"chain{node_count}")
    x = b.add("input", "input", None, shape=(64,))
    i = 0
    while len(b.graph) < node_count - 2:
        i += 1
        y = b.add("dense", f"fc{i}a", x, units=64)
        y = b.add("relu", f"relu{i}", y)
        y = b.add("dense", f"fc{i}b", y, units=64)
        add = b.add("add", f"add{i}", None)
        b.wire(y, add, "in1")
        b.wire(x, add, "in2")
        x = add
    b.add("output", "output", x)
    return b.graph


def block_stages(stages: int = 50, units: int = 5) -> LayerGraph:
    """``stages`` instances of one Stage block, each ``units`` residual units (4 layers and an
    Add) deep: 50 stages are 1,000+ layers once expanded, but one distinct block to analyse."""
    from dlstudio.core.blocks import BlockDefinition, BlockParam

    inner = _Builder("Stage")
    x = inner.add("input", "x", None, shape=(32, 16, 16))
    for u in range(units):
        y = inner.add("conv2d", f"conv{u}a", x, out_channels="=channels", kernel_size=3, padding=1)
        y = inner.add("batchnorm2d", f"bn{u}", y)
        y = inner.add("relu", f"relu{u}", y)
        y = inner.add("conv2d", f"conv{u}b", y, out_channels="=channels", kernel_size=3, padding=1)
        s = inner.add("add", f"add{u}", None)
        inner.wire(y, s, "in1")
        inner.wire(x, s, "in2")
        x = s
    inner.add("output", "out", x)
    b = _Builder("stages")
    b.graph.blocks["Stage"] = BlockDefinition(
        "Stage", inner.graph, (BlockParam("channels", "int", 32, minimum=1),)
    )
    x = b.add("input", "input", None, shape=(3, 32, 32))
    x = b.add("conv2d", "stem", x, out_channels=32, kernel_size=3, stride=2, padding=1)
    for i in range(stages):
        x = b.add("block", f"stage{i}", x, block="Stage", channels=32)
    x = b.add("global_avgpool", "pool", x)
    x = b.add("dense", "fc", x, units=10)
    b.add("output", "logits", x)
    return b.graph


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
