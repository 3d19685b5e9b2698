"""Build a graph in code so it reads like a ``forward`` method: :class:`GraphBuilder`.

The template script and the built-in block library (:mod:`dlstudio.layers.block_library`) use
it. It adds named layers, wires them and makes block definitions; it does no layout (that is
:mod:`dlstudio.analysis.layout`, a layer above this one), so nodes keep the position (0, 0) until
the caller lays them out.
"""

from __future__ import annotations

from typing import Any

from dlstudio.core.blocks import BLOCK_TYPE, BlockDefinition, BlockParam, definition_order
from dlstudio.core.graph import Edge, LayerGraph, LayerNode, PortRef
from dlstudio.layers.registry import get_layer_type

Tensor = PortRef
"""A handle on a tensor while building: the output port that produces it."""


class GraphBuilder:
    """Adds named layers and block instances and wires them; :meth:`define` starts a block."""

    def __init__(self, name: str) -> None:
        self.graph = LayerGraph(name)
        self.root: LayerGraph | None = None
        """For a block definition's builder: the document it belongs to."""
        self.block_params: tuple[BlockParam, ...] = ()
        self.block_description = ""

    @property
    def document(self) -> LayerGraph:
        """The document that holds the block definitions (this graph at the top)."""
        return self.root if self.root is not None else self.graph

    def _add_node(
        self, type_id: str, name: str, params: dict[str, Any], when: str | None = None
    ) -> str:
        if self.graph.node_by_name(name) is not None:
            raise ValueError(f"{self.graph.name}: two nodes are called {name!r}")
        node_id = self.graph.new_node_id()
        self.graph.insert_node(LayerNode(node_id, type_id, name, params, when=when))
        return node_id

    def _wire(self, node_id: str, wiring: dict[str, Tensor]) -> None:
        for port, tensor in wiring.items():
            self.graph.insert_edge(Edge(tensor, PortRef(node_id, port)))

    def layer(
        self,
        type_id: str,
        name: str,
        *inputs: Tensor,
        ports: dict[str, Tensor] | None = None,
        when: str | None = None,
        **params: Any,
    ) -> Tensor:
        """Add a layer fed by ``inputs`` (ports ``in`` or ``in1..inK``) or by named ``ports``;
        inside a definition, ``when`` names the bool block parameter it depends on.

        Returns the layer's first output. Merge layers get their ``inputs`` count from the
        number of tensors given.
        """
        layer_type = get_layer_type(type_id)  # an unknown id fails here, naming it
        if layer_type.variadic_inputs and inputs:
            params.setdefault(layer_type.variadic_inputs, len(inputs))
        node_id = self._add_node(type_id, name, dict(params), when)
        wiring = dict(ports or {})
        if len(inputs) == 1 and not layer_type.variadic_inputs:
            wiring["in"] = inputs[0]
        elif inputs:
            wiring.update({f"in{i}": t for i, t in enumerate(inputs, start=1)})
        self._wire(node_id, wiring)
        outputs = layer_type.outputs
        return PortRef(node_id, outputs[0].name if outputs else "out")

    def block(
        self,
        definition: str,
        name: str,
        *inputs: Tensor,
        ports: dict[str, Tensor] | None = None,
        when: str | None = None,
        **params: Any,
    ) -> Tensor:
        """Add an instance of block ``definition`` fed by ``inputs`` (in the order of the
        definition's Input nodes) or named ``ports``; returns its first output. ``when``: as
        for :meth:`layer`."""
        spec = self.document.blocks.get(definition)
        if spec is None:
            known = ", ".join(sorted(self.document.blocks)) or "none"
            raise ValueError(f"{self.graph.name}: no block definition {definition!r} ({known})")
        node_id = self._add_node(BLOCK_TYPE, name, {"block": definition, **params}, when)
        wiring = dict(ports or {})
        wiring.update(dict(zip(spec.input_ports(), inputs, strict=False)))
        self._wire(node_id, wiring)
        return PortRef(node_id, next(iter(spec.output_ports())))

    def define(
        self, name: str, params: tuple[BlockParam, ...] = (), description: str = ""
    ) -> GraphBuilder:
        """A builder for a new block definition of this document (finish it with
        :meth:`end_block`); it is of this builder's class."""
        builder = type(self)(name)
        builder.root = self.document
        builder.block_params = params
        builder.block_description = " ".join(description.split())
        return builder

    def end_block(self) -> str:
        """Add this block definition to the document; returns its name."""
        if self.root is None:
            raise ValueError("end_block() is for builders made by define()")
        self.graph.revision = 0
        self.root.blocks[self.graph.name] = BlockDefinition(
            self.graph.name, self.graph, self.block_params, self.block_description
        )
        return self.graph.name

    def use(self, definitions: dict[str, BlockDefinition], *names: str) -> None:
        """Copy definitions ``names`` (and every definition they use) from ``definitions``
        (such as the built-in library) into this document, unless it has them already."""
        for name in definition_order(definitions, list(names)):
            if name not in self.document.blocks:
                self.document.blocks[name] = definitions[name].copy()

    def input(self, name: str, shape: tuple[Any, ...], **params: Any) -> Tensor:
        """An Input node: ``shape`` of one example without the batch."""
        return self.layer("input", name, shape=tuple(shape), **params)

    def output(self, x: Tensor, name: str = "output") -> None:
        """An Output node returning ``x``."""
        self.layer("output", name, x)
