"""Mouse gestures on the scene: drawing a wire from a port, and dragging nodes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QToolTip

from dlstudio.core import MoveNodes, PortRef
from dlstudio.gui.canvas import style
from dlstudio.gui.canvas.edge_item import TempWireItem
from dlstudio.gui.canvas.editing import connect_command, connection_endpoints, connection_problem
from dlstudio.gui.canvas.node_item import NodeItem, PortItem

if TYPE_CHECKING:
    from dlstudio.gui.canvas.scene import GraphScene


def snap(value: float, step: float = style.GRID_SIZE) -> float:
    """``value`` rounded to the grid."""
    return round(value / step) * step


class ConnectionDrag:
    """A wire being drawn from ``port``; :meth:`finish` connects or says why it cannot."""

    def __init__(self, scene: GraphScene, port: PortItem) -> None:
        self.scene = scene
        self.port = port
        self.start = port.scenePos()
        self.wire = TempWireItem(scene.flow)
        self.wire.set_ends(self.start, self.start, port.is_output)
        scene.addItem(self.wire)
        self.target: PortItem | None = None
        self.problem: str | None = None
        self._announced: str | None = None

    def _target_at(self, pos: QPointF) -> PortItem | None:
        for item in self.scene.items(pos):
            if isinstance(item, PortItem) and item is not self.port:
                return item
            if isinstance(item, NodeItem):
                return self._port_on_node(item)
        return None

    def _port_on_node(self, node: NodeItem) -> PortItem | None:
        """Dropping on a node's body picks its first free port of the right kind."""
        want_output = not self.port.is_output
        ports = [p for (_, out), p in node.ports.items() if out == want_output]
        if not ports:
            return None
        if want_output:
            return ports[0]
        graph = self.scene.document.graph
        free = [p for p in ports if graph.incoming_edge(PortRef(node.node.id, p.name)) is None]
        return (free or ports)[0]

    def move(self, pos: QPointF) -> None:
        """Follow the mouse; snap to a port under it and show whether the drop would work."""
        self.target = self._target_at(pos)
        if self.target is None:
            self.problem = None
            self.wire.set_ends(self.start, pos, self.port.is_output)
            self.wire.set_valid(None)
            return
        self.problem = self._check(self.target)
        self.wire.set_ends(self.start, self.target.scenePos(), self.port.is_output)
        self.wire.set_valid(self.problem is None)
        if self.problem and self.problem != self._announced:
            self.scene.status_message.emit(self.problem)
            QToolTip.showText(QCursor.pos(), self.problem)
        self._announced = self.problem

    def _check(self, target: PortItem) -> str | None:
        ends = self._ends(target)
        if isinstance(ends, str):
            return ends
        return connection_problem(self.scene.document.graph, *ends, replace=True)

    def _ends(self, target: PortItem) -> tuple[PortRef, PortRef] | str:
        a = PortRef(self.port.node_id, self.port.name)
        b = PortRef(target.node_id, target.name)
        return connection_endpoints(a, self.port.is_output, b, target.is_output)

    def finish(self, pos: QPointF) -> bool:
        """Connect to the port under ``pos``; False (with the reason as a status message)."""
        self.move(pos)
        self.scene.removeItem(self.wire)
        if self.target is None:
            return False
        if self.problem is not None:
            # Where the user is looking, not only in the status bar.
            QToolTip.showText(QCursor.pos(), f"Not connected: {self.problem}")
            self.scene.status_message.emit(f"Not connected: {self.problem}")
            return False
        ends = self._ends(self.target)
        if isinstance(ends, str):  # the check above already refused such a pair
            return False
        command, text = connect_command(self.scene.document.graph, *ends)
        ok = self.scene.document.push(command)
        if ok:
            self.scene.status_message.emit(text)
        return ok

    def cancel(self) -> None:
        """Drop the temporary wire without connecting."""
        if self.wire.scene() is not None:
            self.scene.removeItem(self.wire)


class MoveDrag:
    """Dragging the selected nodes: one mergeable :class:`MoveNodes` per mouse move, folded
    into one undo step by the stack, closed on release."""

    def __init__(self, scene: GraphScene, anchor: NodeItem, press: QPointF) -> None:
        self.scene = scene
        graph = scene.document.graph
        ids = scene.selected_node_ids() or [anchor.node.id]
        if anchor.node.id not in ids:
            ids = [anchor.node.id]
        self.start = {nid: graph.node(nid).position for nid in ids}
        self.anchor = anchor.node.id
        self.press = press
        self.started = False
        self._last: dict[str, tuple[float, float]] | None = None

    def move(self, pos: QPointF, threshold: float) -> None:
        """Move the nodes by the mouse's travel; the anchor snaps to the grid when enabled."""
        delta = pos - self.press
        if not self.started and delta.manhattanLength() < threshold:
            return  # a click is not a move
        self.started = True
        ax, ay = self.start[self.anchor]
        nx, ny = ax + delta.x(), ay + delta.y()
        if self.scene.snap_to_grid:
            nx, ny = snap(nx), snap(ny)
        dx, dy = nx - ax, ny - ay
        positions = {nid: (x + dx, y + dy) for nid, (x, y) in self.start.items()}
        if positions == self._last:
            return
        self._last = positions
        self.scene.document.push(MoveNodes(positions), mergeable=True)

    def finish(self) -> None:
        """The button was released: the next drag is a new undo step."""
        self.scene.document.undo_stack.end_merge()
