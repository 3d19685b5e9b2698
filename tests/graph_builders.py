"""Small graph builders for tests (no torch, no Qt)."""

from __future__ import annotations

from typing import Any

from dlstudio.core import Edge, LayerGraph, LayerNode, PortRef


class ChainBuilder:
    """Builds graphs in a line, with named branches where needed."""

    def __init__(self, name: str = "test") -> None:
        self.graph = LayerGraph(name)

    def add(self, type_id: str, name: str, **params: Any) -> str:
        """Add a node; returns its id."""
        node_id = self.graph.new_node_id()
        self.graph.insert_node(
            LayerNode(node_id, type_id, name, params, (len(self.graph) * 200.0, 0.0))
        )
        return node_id

    def wire(self, src: str, dst: str, src_port: str = "out", dst_port: str = "in") -> None:
        """Connect two nodes by id."""
        self.graph.insert_edge(Edge(PortRef(src, src_port), PortRef(dst, dst_port)))

    def chain(self, *layers: tuple[str, str, dict[str, Any]]) -> list[str]:
        """Add layers wired one after another; returns their ids."""
        ids = []
        for type_id, name, params in layers:
            node_id = self.add(type_id, name, **params)
            if ids:
                self.wire(ids[-1], node_id)
            ids.append(node_id)
        return ids


LENET5 = (
    ("input", "input", {"shape": (1, 28, 28)}),
    ("conv2d", "conv1", {"out_channels": 6, "kernel_size": 5, "padding": 2}),
    ("relu", "relu1", {}),
    ("maxpool2d", "pool1", {"kernel_size": 2}),
    ("conv2d", "conv2", {"out_channels": 16, "kernel_size": 5}),
    ("relu", "relu2", {}),
    ("maxpool2d", "pool2", {"kernel_size": 2}),
    ("flatten", "flatten", {}),
    ("dense", "fc1", {"units": 120}),
    ("relu", "relu3", {}),
    ("dense", "fc2", {"units": 84}),
    ("relu", "relu4", {}),
    ("dense", "fc3", {"units": 10}),
    ("output", "output", {}),
)


def lenet5() -> LayerGraph:
    """LeNet-5 for 1x28x28 digits: 61,706 parameters."""
    b = ChainBuilder("lenet5")
    b.chain(*LENET5)
    return b.graph


def mlp(sizes: tuple[int, ...] = (784, 16, 16, 10)) -> LayerGraph:
    """A ReLU MLP over flat inputs."""
    b = ChainBuilder("mlp")
    layers: list[tuple[str, str, dict[str, Any]]] = [("input", "input", {"shape": (sizes[0],)})]
    for i, units in enumerate(sizes[1:], start=1):
        layers.append(("dense", f"fc{i}", {"units": units}))
        if i < len(sizes) - 1:
            layers.append(("relu", f"relu{i}", {}))
    layers.append(("output", "output", {}))
    b.chain(*layers)
    return b.graph


def iris_mlp() -> LayerGraph:
    """Input(4) -> fc1 Dense(16) -> relu1 -> fc2 Dense(3) -> Output: trains on iris in seconds."""
    b = ChainBuilder("iris-mlp")
    b.chain(
        ("input", "features", {"shape": (4,)}),
        ("dense", "fc1", {"units": 16}),
        ("relu", "relu1", {}),
        ("dense", "fc2", {"units": 3}),
        ("output", "logits", {}),
    )
    return b.graph
