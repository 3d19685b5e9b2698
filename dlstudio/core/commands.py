"""Undoable edits. Every change a user makes is one of these, pushed on an :class:`UndoStack`.

A command records what it needs to restore the document exactly, so undoing everything returns
a graph whose saved file is byte-identical to the original.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dlstudio.core.errors import GraphEditError
from dlstudio.core.graph import Edge, LayerGraph, LayerNode
from dlstudio.core.terminal import one_line_problem


class Command:
    """One undoable edit. ``do`` may raise :class:`GraphEditError`, leaving the graph unchanged."""

    text = "edit"

    def do(self, graph: LayerGraph) -> None:
        """Apply the edit."""
        raise NotImplementedError

    def undo(self, graph: LayerGraph) -> None:
        """Revert exactly what ``do`` did."""
        raise NotImplementedError

    def merge_with(self, other: Command) -> bool:
        """Absorb a following command of the same kind (a drag is one move); True if merged."""
        return False


class AddNode(Command):
    """Add a node (a copy of ``node`` is inserted, so the caller's object stays untouched)."""

    def __init__(self, node: LayerNode) -> None:
        self.node = node.clone()
        self.text = f"add {node.name}"

    def do(self, graph: LayerGraph) -> None:
        graph.insert_node(self.node.clone())

    def undo(self, graph: LayerGraph) -> None:
        graph.delete_node(self.node.id)


class RemoveNode(Command):
    """Remove a node together with every wire touching it."""

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self.text = f"remove {node_id}"
        self._removed_edges: list[tuple[int, Edge]] = []
        self._node: LayerNode | None = None
        self._index = 0

    def do(self, graph: LayerGraph) -> None:
        node = graph.node(self.node_id)
        self.text = f"remove {node.name}"
        edges = graph.edges_touching(self.node_id)
        self._removed_edges = []
        for edge in reversed(edges):  # remove from the back so recorded indices stay valid
            self._removed_edges.append((graph.delete_edge(edge), edge))
        self._removed_edges.reverse()
        self._node, self._index = graph.delete_node(self.node_id)

    def undo(self, graph: LayerGraph) -> None:
        assert self._node is not None
        graph.insert_node(self._node, self._index)
        for index, edge in self._removed_edges:
            graph.insert_edge(edge, index)


class Connect(Command):
    """Add a wire from an output port to an input port."""

    def __init__(self, edge: Edge) -> None:
        self.edge = edge
        self.text = f"connect {edge}"

    def do(self, graph: LayerGraph) -> None:
        graph.insert_edge(self.edge)

    def undo(self, graph: LayerGraph) -> None:
        graph.delete_edge(self.edge)


class Disconnect(Command):
    """Remove a wire."""

    def __init__(self, edge: Edge) -> None:
        self.edge = edge
        self.text = f"disconnect {edge}"
        self._index = 0

    def do(self, graph: LayerGraph) -> None:
        self._index = graph.delete_edge(self.edge)

    def undo(self, graph: LayerGraph) -> None:
        graph.insert_edge(self.edge, self._index)


class SetParam(Command):
    """Set one parameter of a node; ``None`` removes it so the layer default applies."""

    def __init__(self, node_id: str, name: str, value: Any) -> None:
        self.node_id = node_id
        self.name = name
        self.value = value
        self.text = f"set {name}"
        self._old_params: dict[str, Any] | None = None

    def do(self, graph: LayerGraph) -> None:
        node = graph.node(self.node_id)
        self._old_params = node.params
        params = copy.deepcopy(node.params)
        if self.value is None:
            params.pop(self.name, None)
        else:
            params[self.name] = self.value
        graph.update_node(self.node_id, params=params)

    def undo(self, graph: LayerGraph) -> None:
        graph.update_node(self.node_id, params=self._old_params)


class RenameNode(Command):
    """Change a node's display name (the generated code's attribute name follows it)."""

    def __init__(self, node_id: str, name: str) -> None:
        self.node_id = node_id
        self.name = name
        self.text = f"rename to {name}"
        self._old = ""

    def do(self, graph: LayerGraph) -> None:
        if not self.name.strip():
            raise GraphEditError("a layer name cannot be empty")
        problem = one_line_problem(self.name)
        if problem:
            raise GraphEditError(f"the name {self.name!r} {problem}")
        clash = graph.node_by_name(self.name)
        if clash is not None and clash.id != self.node_id:
            raise GraphEditError(f"another layer is already named {self.name!r}")
        self._old = graph.update_node(self.node_id, name=self.name)["name"]

    def undo(self, graph: LayerGraph) -> None:
        graph.update_node(self.node_id, name=self._old)


class SetTrainable(Command):
    """Freeze (False) or unfreeze (True) a node's weights."""

    def __init__(self, node_id: str, trainable: bool) -> None:
        self.node_id = node_id
        self.trainable = trainable
        self.text = "unfreeze" if trainable else "freeze"
        self._old = True

    def do(self, graph: LayerGraph) -> None:
        self._old = graph.update_node(self.node_id, trainable=self.trainable)["trainable"]

    def undo(self, graph: LayerGraph) -> None:
        graph.update_node(self.node_id, trainable=self._old)


class SetCondition(Command):
    """Make a layer inside a block optional (``when`` = a bool block parameter, or ``not``
    one) or always there (None)."""

    def __init__(self, node_id: str, when: str | None) -> None:
        self.node_id = node_id
        self.when = when
        self.text = f"only when {when}" if when else "always present"
        self._old: str | None = None

    def do(self, graph: LayerGraph) -> None:
        self._old = graph.update_node(self.node_id, when=self.when)["when"]

    def undo(self, graph: LayerGraph) -> None:
        graph.update_node(self.node_id, when=self._old)


class MoveNodes(Command):
    """Move nodes to new positions. Successive moves of the same nodes merge into one step."""

    def __init__(self, positions: dict[str, tuple[float, float]]) -> None:
        self.positions = {k: (float(x), float(y)) for k, (x, y) in positions.items()}
        self.text = "move" if len(positions) != 1 else "move node"
        self._old: dict[str, tuple[float, float]] = {}

    def do(self, graph: LayerGraph) -> None:
        old = {nid: graph.node(nid).position for nid in self.positions}
        for nid, pos in self.positions.items():
            graph.update_node(nid, position=pos)
        # On redo after a merge, keep the positions recorded before the first move.
        self._old = self._old or old

    def undo(self, graph: LayerGraph) -> None:
        for nid, pos in self._old.items():
            graph.update_node(nid, position=pos)

    def merge_with(self, other: Command) -> bool:
        if isinstance(other, MoveNodes) and other.positions.keys() == self.positions.keys():
            self.positions = dict(other.positions)
            return True
        return False


class SetMetadata(Command):
    """Set a document-level entry such as ``"training"`` settings."""

    def __init__(self, key: str, value: Any) -> None:
        self.key = key
        self.value = copy.deepcopy(value)
        self.text = f"set {key}"
        self._old: Any = None

    def do(self, graph: LayerGraph) -> None:
        self._old = graph.set_metadata(self.key, copy.deepcopy(self.value))

    def undo(self, graph: LayerGraph) -> None:
        graph.set_metadata(self.key, self._old)


@dataclass
class MacroCommand(Command):
    """Several commands as one undo step (paste, insert a layer into a wire, auto layout)."""

    text: str
    children: Sequence[Command] = field(default_factory=list)

    def do(self, graph: LayerGraph) -> None:
        done: list[Command] = []
        try:
            for child in self.children:
                child.do(graph)
                done.append(child)
        except Exception:
            for child in reversed(done):  # all or nothing
                child.undo(graph)
            raise

    def undo(self, graph: LayerGraph) -> None:
        for child in reversed(self.children):
            child.undo(graph)


StackListener = Callable[[], None]


class UndoStack:
    """The linear history of a document's commands, with a clean (saved) mark."""

    def __init__(self, graph: LayerGraph) -> None:
        self.graph = graph
        self._done: list[Command] = []
        self._undone: list[Command] = []
        self._clean_depth: int | None = 0
        self._listeners: list[StackListener] = []
        self._merge_open = False

    def push(self, command: Command, *, mergeable: bool = False) -> None:
        """Apply ``command`` and record it. Raises :class:`GraphEditError` and records nothing
        if it cannot be applied. With ``mergeable``, it may fold into the previous command."""
        command.do(self.graph)
        if mergeable and self._merge_open and self._done and self._done[-1].merge_with(command):
            pass
        else:
            self._done.append(command)
            if self._clean_depth is not None and self._clean_depth > len(self._done) - 1:
                self._clean_depth = None  # the saved state can no longer be reached by redo
        self._merge_open = mergeable
        self._undone.clear()
        self._notify()

    def end_merge(self) -> None:
        """Close the current merge run (e.g. the mouse button was released)."""
        self._merge_open = False

    def undo(self) -> bool:
        """Undo the last command; False when there is nothing to undo."""
        if not self._done:
            return False
        command = self._done.pop()
        command.undo(self.graph)
        self._undone.append(command)
        self._merge_open = False
        self._notify()
        return True

    def redo(self) -> bool:
        """Redo the last undone command; False when there is nothing to redo."""
        if not self._undone:
            return False
        command = self._undone.pop()
        command.do(self.graph)
        self._done.append(command)
        self._merge_open = False
        self._notify()
        return True

    def undo_all(self) -> None:
        """Undo back to the start of the history."""
        while self.undo():
            pass

    def redo_all(self) -> None:
        """Redo everything that was undone."""
        while self.redo():
            pass

    @property
    def can_undo(self) -> bool:
        """True when there is a command to undo."""
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        """True when there is a command to redo."""
        return bool(self._undone)

    @property
    def undo_text(self) -> str:
        """What Undo would revert, for the menu entry."""
        return self._done[-1].text if self._done else ""

    @property
    def redo_text(self) -> str:
        """What Redo would re-apply, for the menu entry."""
        return self._undone[-1].text if self._undone else ""

    def set_clean(self) -> None:
        """Mark the current state as saved."""
        self._clean_depth = len(self._done)
        self._notify()

    def mark_dirty(self) -> None:
        """Mark the document as differing from any saved file (e.g. recovered work)."""
        self._clean_depth = None
        self._notify()

    @property
    def is_clean(self) -> bool:
        """True when the document equals what was last saved."""
        return self._clean_depth == len(self._done)

    def clear(self) -> None:
        """Forget the history (after opening another document)."""
        self._done.clear()
        self._undone.clear()
        self._clean_depth = 0
        self._notify()

    def subscribe(self, listener: StackListener) -> None:
        """Call ``listener()`` after every push, undo, redo or clean change."""
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()
