"""The graph document: layer nodes joined by edges from an output port to an input port.

The graph owns the truth. Views (the editor's items, the analysis cache) listen to its events
instead of keeping copies. Mutate it through the commands in :mod:`dlstudio.core.commands` so that
every change can be undone; the methods here are the primitive steps those commands take.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dlstudio.core.errors import GraphEditError

if TYPE_CHECKING:
    from dlstudio.core.blocks import BlockDefinition

ParamValue = Any  # int | float | bool | str | tuple of those; validated by the layer catalogue


@dataclass(frozen=True, order=True)
class PortRef:
    """One port of one node: ``PortRef("conv1", "out")``."""

    node: str
    port: str

    def __str__(self) -> str:
        return f"{self.node}.{self.port}"


@dataclass(frozen=True, order=True)
class Edge:
    """A wire from an output port to an input port."""

    src: PortRef
    dst: PortRef

    def __str__(self) -> str:
        return f"{self.src} -> {self.dst}"


@dataclass
class LayerNode:
    """One layer in the document. Change it only through :class:`LayerGraph` methods."""

    id: str
    type_id: str
    name: str
    params: dict[str, ParamValue] = field(default_factory=dict)
    position: tuple[float, float] = (0.0, 0.0)
    trainable: bool = True
    when: str | None = None
    """Inside a block definition: the bool block parameter (``downsample``, or ``not
    downsample``) under which the layer exists; where it is false the layer is left out and its
    input passes straight through (torchvision's optional ``downsample``)."""

    def clone(self) -> LayerNode:
        """A deep copy, safe to keep in an undo record."""
        return copy.deepcopy(self)


@dataclass(frozen=True)
class GraphEvent:
    """Something changed. ``kind`` is one of the ``GraphEvent.*`` constants below."""

    kind: str
    node_id: str | None = None
    edge: Edge | None = None
    detail: str | None = None

    NODE_ADDED = "node_added"
    NODE_REMOVED = "node_removed"
    NODE_CHANGED = "node_changed"  # detail: "params", "name", "position", "trainable", "when"
    EDGE_ADDED = "edge_added"
    EDGE_REMOVED = "edge_removed"
    METADATA_CHANGED = "metadata_changed"
    BLOCKS_CHANGED = "blocks_changed"  # detail: the definition's name


Listener = Callable[[GraphEvent], None]


class LayerGraph:
    """Nodes (in insertion order), edges, and document metadata such as training settings."""

    def __init__(self, name: str = "untitled") -> None:
        self.name = name
        self.metadata: dict[str, Any] = {}
        self.blocks: dict[str, BlockDefinition] = {}
        """Block definitions by name (only the root document holds them; see docs/blocks.md)."""
        self._nodes: dict[str, LayerNode] = {}
        self._edges: list[Edge] = []
        self._incoming: dict[PortRef, Edge] = {}
        # Per-node indexes, each in the order of ``_edges``, so the walkers stay linear.
        self._into: dict[str, list[Edge]] = {}
        self._out_of: dict[str, list[Edge]] = {}
        self._listeners: list[Listener] = []
        self.revision = 0
        """Bumped on every change: a cheap key for caches of derived results."""

    # ----------------------------------------------------------------- queries
    @property
    def nodes(self) -> dict[str, LayerNode]:
        """Nodes by id, in insertion order. Read-only by convention."""
        return self._nodes

    @property
    def edges(self) -> tuple[Edge, ...]:
        """All edges, in insertion order."""
        return tuple(self._edges)

    def node(self, node_id: str) -> LayerNode:
        """The node with this id, or a :class:`GraphEditError` naming it."""
        try:
            return self._nodes[node_id]
        except KeyError:
            raise GraphEditError(f"there is no node with id {node_id!r}") from None

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def __iter__(self) -> Iterator[LayerNode]:
        return iter(self._nodes.values())

    def incoming_edge(self, dst: PortRef) -> Edge | None:
        """The edge feeding an input port, if any (an input port takes one wire)."""
        return self._incoming.get(dst)

    def edges_into(self, node_id: str) -> list[Edge]:
        """Edges that end at this node (in edge order; indexed, not a scan)."""
        return list(self._into.get(node_id, ()))

    def edges_out_of(self, node_id: str) -> list[Edge]:
        """Edges that start at this node (in edge order; indexed, not a scan)."""
        return list(self._out_of.get(node_id, ()))

    def edges_touching(self, node_id: str) -> list[Edge]:
        """Edges at either end of this node, in edge order."""
        touching = {*self._into.get(node_id, ()), *self._out_of.get(node_id, ())}
        if len(touching) <= 1:
            return list(touching)
        return [e for e in self._edges if e in touching]

    def node_by_name(self, name: str) -> LayerNode | None:
        """The node with this display name, if any."""
        return next((n for n in self._nodes.values() if n.name == name), None)

    def new_node_id(self, prefix: str = "n") -> str:
        """An id not used in this graph."""
        for i in itertools.count(len(self._nodes) + 1):
            candidate = f"{prefix}{i}"
            if candidate not in self._nodes:
                return candidate
        raise AssertionError("unreachable")

    def unique_name(self, base: str) -> str:
        """``base`` followed by the first number that makes it unused: ``conv1``, ``conv2``..."""
        used = {n.name for n in self._nodes.values()}
        for i in itertools.count(1):
            candidate = f"{base}{i}"
            if candidate not in used:
                return candidate
        raise AssertionError("unreachable")

    def to_networkx(self):  # -> networkx.MultiDiGraph
        """A networkx view for analysis passes: node ids as nodes, one edge per wire."""
        import networkx as nx

        g = nx.MultiDiGraph()
        g.add_nodes_from(self._nodes)
        for e in self._edges:
            g.add_edge(e.src.node, e.dst.node, src_port=e.src.port, dst_port=e.dst.port)
        return g

    def copy(self) -> LayerGraph:
        """A deep, independent copy with no listeners (a snapshot, e.g. for a training run)."""
        other = LayerGraph(self.name)
        other.metadata = copy.deepcopy(self.metadata)
        other.blocks = {name: d.copy() for name, d in self.blocks.items()}
        for node in self._nodes.values():
            other._nodes[node.id] = node.clone()
        for edge in self._edges:
            other._edges.append(edge)
            other._incoming[edge.dst] = edge
            other._into.setdefault(edge.dst.node, []).append(edge)
            other._out_of.setdefault(edge.src.node, []).append(edge)
        return other

    # --------------------------------------------------------------- listeners
    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(event)`` after every change."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _emit(self, event: GraphEvent) -> None:
        self.revision += 1
        for listener in list(self._listeners):
            listener(event)

    # ---------------------------------------------------- primitive mutations
    def insert_node(self, node: LayerNode, index: int | None = None) -> None:
        """Add a node (at ``index`` in the order, to restore an undone removal exactly)."""
        if node.id in self._nodes:
            raise GraphEditError(f"a node with id {node.id!r} already exists")
        if index is None or index >= len(self._nodes):
            self._nodes[node.id] = node
        else:
            items = list(self._nodes.items())
            items.insert(index, (node.id, node))
            self._nodes = dict(items)
        self._emit(GraphEvent(GraphEvent.NODE_ADDED, node_id=node.id))

    def delete_node(self, node_id: str) -> tuple[LayerNode, int]:
        """Remove a node that has no edges left; returns it and its former index."""
        node = self.node(node_id)
        if self.edges_touching(node_id):
            raise GraphEditError(f"{node.name} still has wires; disconnect them first")
        index = list(self._nodes).index(node_id)
        del self._nodes[node_id]
        self._into.pop(node_id, None)
        self._out_of.pop(node_id, None)
        self._emit(GraphEvent(GraphEvent.NODE_REMOVED, node_id=node_id))
        return node, index

    def insert_edge(self, edge: Edge, index: int | None = None) -> None:
        """Add a wire. Refuses unknown nodes, self-loops and an input port that is taken."""
        for ref in (edge.src, edge.dst):
            if ref.node not in self._nodes:
                raise GraphEditError(f"cannot connect {edge}: there is no node {ref.node!r}")
        if edge.src.node == edge.dst.node:
            raise GraphEditError(f"cannot connect {self._nodes[edge.src.node].name} to itself")
        if edge.dst in self._incoming:
            dst_name = self._nodes[edge.dst.node].name
            raise GraphEditError(
                f"input {edge.dst.port!r} of {dst_name} already has a wire; "
                "disconnect it first (an input takes one tensor)"
            )
        if index is None or index >= len(self._edges):
            self._edges.append(edge)
            self._into.setdefault(edge.dst.node, []).append(edge)
            self._out_of.setdefault(edge.src.node, []).append(edge)
        else:  # an undone removal put back in place: keep the indexes in edge order
            self._edges.insert(index, edge)
            self._into[edge.dst.node] = [e for e in self._edges if e.dst.node == edge.dst.node]
            self._out_of[edge.src.node] = [e for e in self._edges if e.src.node == edge.src.node]
        self._incoming[edge.dst] = edge
        self._emit(GraphEvent(GraphEvent.EDGE_ADDED, edge=edge))

    def delete_edge(self, edge: Edge) -> int:
        """Remove a wire; returns its former index."""
        try:
            index = self._edges.index(edge)
        except ValueError:
            raise GraphEditError(f"there is no wire {edge}") from None
        del self._edges[index]
        self._incoming.pop(edge.dst, None)
        self._into[edge.dst.node].remove(edge)
        self._out_of[edge.src.node].remove(edge)
        self._emit(GraphEvent(GraphEvent.EDGE_REMOVED, edge=edge))
        return index

    def update_node(self, node_id: str, **changes: Any) -> dict[str, Any]:
        """Set fields (``name``, ``params``, ``position``, ``trainable``, ``when``); returns the
        old values."""
        node = self.node(node_id)
        old: dict[str, Any] = {}
        for attr, value in changes.items():
            if attr not in ("name", "params", "position", "trainable", "when"):
                raise GraphEditError(f"nodes have no field {attr!r}")
            old[attr] = getattr(node, attr)
            setattr(node, attr, value)
        for attr in changes:
            self._emit(GraphEvent(GraphEvent.NODE_CHANGED, node_id=node_id, detail=attr))
        return old

    def notify_blocks_changed(self, name: str) -> None:
        """Tell listeners that definition ``name`` changed (added, removed, edited inside)."""
        self._emit(GraphEvent(GraphEvent.BLOCKS_CHANGED, detail=name))

    def set_metadata(self, key: str, value: Any) -> Any:
        """Set one metadata entry (``None`` deletes it); returns the old value."""
        old = self.metadata.get(key)
        if value is None:
            self.metadata.pop(key, None)
        else:
            self.metadata[key] = value
        self._emit(GraphEvent(GraphEvent.METADATA_CHANGED, detail=key))
        return old
