"""The result of analysing a graph: per-node specs and statistics, and the diagnostics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dlstudio.analysis.diagnostics import Diagnostic
from dlstudio.core.graph import Edge
from dlstudio.core.tensor_spec import TensorSpec


@dataclass
class NodeInfo:
    """What the analysis learnt about one node. Fields are None where inference did not reach."""

    node_id: str
    params: dict[str, Any]
    """Parameters with defaults applied and values normalised."""
    inputs: dict[str, TensorSpec] = field(default_factory=dict)
    outputs: dict[str, TensorSpec] = field(default_factory=dict)
    inferred: dict[str, Any] = field(default_factory=dict)
    param_count: int | None = None
    trainable_params: int | None = None
    macs: int | None = None
    """Multiply-accumulates for one example."""
    activation_bytes: int | None = None
    """Memory of this node's outputs at the analysed batch size."""
    ok: bool = False
    """True when the node's shapes were inferred without error."""
    definition: str | None = None
    """For a block instance: the name of its definition."""
    enabled: bool = True
    """False for a layer whose ``when`` condition is false for this block's values: it is left
    out and its input passes through unchanged."""
    layers: int = 0
    """How many layers this node stands for once every block is expanded: 1 for a layer, 0 for
    an Input or Output, the sum over its copies' layers for a block instance."""
    children: list[AnalysisResult] = field(default_factory=list)
    """For a block instance: the analysis of its definition, one per copy (``repeat``); copies
    with the same parameters and input specs share one result."""

    @property
    def output(self) -> TensorSpec | None:
        """The first output spec (most layers have one)."""
        return next(iter(self.outputs.values()), None)


@dataclass
class AnalysisResult:
    """Everything the editor, the CLI and the compiler read about a graph."""

    order: list[str]
    """Node ids in topological order (nodes in cycles are left out)."""
    nodes: dict[str, NodeInfo]
    edge_specs: dict[Edge, TensorSpec]
    diagnostics: list[Diagnostic]
    batch_size: int
    bindings: dict[str, int]
    """Example sizes bound to symbols (``{"T": 32}``) for per-example counts."""

    @property
    def errors(self) -> list[Diagnostic]:
        """The diagnostics of severity error."""
        return [d for d in self.diagnostics if d.is_error]

    @property
    def has_errors(self) -> bool:
        """True when the graph cannot be compiled."""
        return any(d.is_error for d in self.diagnostics)

    def diagnostics_for(self, node_id: str) -> list[Diagnostic]:
        """The diagnostics attached to one node."""
        return [d for d in self.diagnostics if d.node_id == node_id]

    @property
    def expanded_layers(self) -> int:
        """Layers of the model with every block instance replaced by its copies' layers."""
        return sum(i.layers for i in self.nodes.values())

    @property
    def total_params(self) -> int:
        """All parameters (trainable and frozen) of nodes that were analysed."""
        return sum(i.param_count or 0 for i in self.nodes.values())

    @property
    def trainable_params(self) -> int:
        """Parameters that training updates."""
        return sum(i.trainable_params or 0 for i in self.nodes.values())

    @property
    def frozen_params(self) -> int:
        """Parameters of frozen nodes."""
        return self.total_params - self.trainable_params

    @property
    def total_macs(self) -> int:
        """Multiply-accumulates for one example."""
        return sum(i.macs or 0 for i in self.nodes.values())

    @property
    def activation_bytes(self) -> int:
        """Memory of all layer outputs at the analysed batch size (a forward pass's peak bound)."""
        return sum(i.activation_bytes or 0 for i in self.nodes.values())
