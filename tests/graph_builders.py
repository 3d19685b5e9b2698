"""Small graph builders for tests (no torch, no Qt)."""

from __future__ import annotations

import itertools
import random
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


def fan_in_graph(node_count: int, edges: list[tuple[int, int]]) -> LayerGraph:
    """Nodes n0..n{k}; each edge wires into a fresh input port, so any fan-in is allowed (for
    the layout, which looks at wires only)."""
    g = LayerGraph("layout")
    for i in range(node_count):
        g.insert_node(LayerNode(f"n{i}", "relu", f"node{i}"))
    ports: dict[int, int] = {}
    for u, v in edges:
        ports[v] = ports.get(v, 0) + 1
        g.insert_edge(Edge(PortRef(f"n{u}", "out"), PortRef(f"n{v}", f"in{ports[v]}")))
    return g


def residual_blocks(blocks: int) -> tuple[LayerGraph, list[str]]:
    """A stem and ``blocks`` residual blocks (conv, bn, relu, conv, bn, add, relu) as a
    fan-in graph, and its spine (the node ids in order)."""
    edges: list[tuple[int, int]] = []
    spine = [0]
    count = 1
    for _ in range(blocks):
        x = spine[-1]
        chain = list(range(count, count + 6))
        count += 6
        edges.append((x, chain[0]))
        edges.extend(itertools.pairwise(chain))  # the block's last but one node is the Add
        edges.append((x, chain[4]))
        spine.extend(chain)
    return fan_in_graph(count, edges), [f"n{i}" for i in spine]


def random_dag(node_count: int, seed: int, reach: int = 12) -> LayerGraph:
    """Each node fed by 1-3 of the ``reach`` nodes before it (a larger reach: longer wires)."""
    rng = random.Random(seed)
    edges = []
    for v in range(1, node_count):
        for u in rng.sample(range(max(0, v - reach), v), k=min(v, rng.choice((1, 1, 2, 3)))):
            edges.append((u, v))
    return fan_in_graph(node_count, edges)
