"""Building the imported graph: nodes named after their source, wires by port, weights by node.

Parameters equal to the catalogue's defaults are left out of the node, as the editor would store
them, and the finished graph is placed with the editor's auto layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dlstudio.analysis.layout import auto_layout
from dlstudio.compile.codegen.names import identifier_base
from dlstudio.compile.importers.report import PLACEHOLDER, ImportIssue, ImportResult
from dlstudio.core.graph import Edge, LayerGraph, LayerNode, PortRef
from dlstudio.layers import get_layer_type


@dataclass(frozen=True)
class TensorRef:
    """A tensor in the graph being built: an output port of one node."""

    node_id: str
    port: str = "out"


class GraphBuilder:
    """Adds nodes and wires to a new graph and collects each node's weights."""

    def __init__(self, name: str, source: str = "") -> None:
        self.graph = LayerGraph(name)
        self.result = ImportResult(self.graph, source=source)
        self._names: set[str] = set()
        self.origin: dict[str, tuple[tuple[str, ...], str]] = {}
        """Node id -> (module scope such as ``("layer1", "0")``, local name such as ``conv1``)."""
        self.scope_classes: dict[str, str] = {}
        """Module path -> class name (``layer1.0`` -> ``BasicBlock``), for block names."""
        self.keep_numbers = False
        """Whether a top-level module named by a number keeps it (an ``nn.Sequential`` model's
        ``0``), so its ``state_dict`` keys are the source's; the PyTorch import sets it."""

    def add(
        self,
        type_id: str,
        name: str,
        params: dict[str, Any] | None = None,
        inputs: list[tuple[str, TensorRef]] | tuple[tuple[str, TensorRef], ...] = (),
        weights: dict[str, Any] | None = None,
        scope: tuple[str, ...] = (),
        local: str | None = None,
    ) -> str:
        """A new node wired from ``inputs`` (port, tensor); returns its id. ``scope`` and
        ``local`` place it in the module hierarchy (see :mod:`.hierarchy`)."""
        layer = get_layer_type(type_id)
        stored = {}
        for key, value in (params or {}).items():
            spec = layer.param_spec(key)
            if spec is None:
                raise KeyError(f"{type_id} has no parameter {key!r}")
            value = spec.validate(value)
            default = spec.default if spec.default is None else spec.validate(spec.default)
            if value != default:
                stored[key] = list(value) if isinstance(value, tuple) else value
        node_id = self.graph.new_node_id("n")
        self.graph.insert_node(
            LayerNode(node_id, type_id, self._name(name, layer.prefix, scope, weights), stored)
        )
        for port, ref in inputs:
            self.graph.insert_edge(Edge(PortRef(ref.node_id, ref.port), PortRef(node_id, port)))
        if weights:
            self.result.weights[node_id] = dict(weights)
        self.origin[node_id] = (tuple(scope), local or name)
        return node_id

    def placeholder(
        self,
        op: str,
        where: str,
        inputs: list[TensorRef],
        output_shape: tuple[int, ...] | None,
        detail: str = "",
        name: str | None = None,
        scope: tuple[str, ...] = (),
        local: str | None = None,
    ) -> TensorRef:
        """A Placeholder node standing in for ``op``, and the issue reporting it."""
        params: dict[str, Any] = {"op": op, "source": where, "inputs": max(1, len(inputs))}
        if output_shape:
            params["output_shape"] = tuple(output_shape)
        wires = [(f"in{i}", ref) for i, ref in enumerate(inputs, start=1)]
        node_id = self.add(
            PLACEHOLDER, name or where or "placeholder", params, wires, scope=scope, local=local
        )
        self.result.issues.append(ImportIssue(op, where, PLACEHOLDER, detail, node_id))
        return TensorRef(node_id)

    def report(self, op: str, where: str, action: str, detail: str = "") -> None:
        """Record an issue without a node."""
        self.result.issues.append(ImportIssue(op, where, action, detail))

    def finish(self) -> ImportResult:
        """Lay the graph out and return the result."""
        for node_id, point in auto_layout(self.graph).items():
            self.graph.nodes[node_id].position = (float(point[0]), float(point[1]))
        return self.result

    def _name(self, name: str, fallback: str, scope: tuple[str, ...], weights: Any) -> str:
        """``name`` made a unique identifier, but for a top-level numbered module with weights
        where :attr:`keep_numbers` holds (the generated code registers it with add_module)."""
        number = not scope and bool(weights) and name.isascii() and name.isdigit()
        if self.keep_numbers and number and len(name) < 10 and name not in self._names:
            self._names.add(name)
            return name
        return self._unique(name, fallback)

    def _unique(self, name: str, fallback: str) -> str:
        base = identifier_base(name, fallback)
        candidate, i = base, 2
        while candidate in self._names:
            candidate, i = f"{base}_{i}", i + 1
        self._names.add(candidate)
        return candidate
