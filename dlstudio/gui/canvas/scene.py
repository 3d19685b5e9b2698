"""``GraphScene``: the document's graph as Qt items, kept in step with the graph's events."""

from __future__ import annotations

import math
from collections.abc import Iterable

from PySide6.QtCore import QMetaMethod, QMimeData, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QPainter, QPen, QTransform
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsSceneContextMenuEvent,
    QGraphicsSceneDragDropEvent,
    QGraphicsSceneMouseEvent,
    QMessageBox,
)

from dlstudio.analysis import AnalysisResult
from dlstudio.analysis.diagnostics import ERROR, Diagnostic
from dlstudio.analysis.fixes import command_for_fix
from dlstudio.core import (
    AddNode,
    Connect,
    DLStudioError,
    Edge,
    GraphEvent,
    MacroCommand,
    PortRef,
    RenameNode,
    SetTrainable,
)
from dlstudio.gui.canvas import editing, style
from dlstudio.gui.canvas.drag import ConnectionDrag, MoveDrag, snap
from dlstudio.gui.canvas.edge_item import EdgeItem
from dlstudio.gui.canvas.node_item import NodeItem, PortItem
from dlstudio.gui.document import Document
from dlstudio.layers import get_layer_type


class GraphScene(QGraphicsScene):
    """Nodes and wires of a :class:`Document`. Rebuilt on ``reset``, updated item by item on
    ``graph_event``, recoloured on ``analysis_ready``. Every edit goes through
    ``document.push``; the items only follow the model."""

    status_message = Signal(str)
    """A line for the status bar: why a connection was refused, what was pasted..."""
    selection_changed_ids = Signal(list)
    """The ids of the selected nodes, after every selection change."""
    help_requested = Signal(str)
    """The user asked for help on a layer type (its id)."""
    rename_requested = Signal(str)
    """The user asked to rename a node (its id); the view opens an inline editor."""

    def __init__(self, document: Document, parent=None, flow: str = "TB") -> None:
        super().__init__(parent)
        self.document = document
        self.flow = flow
        """Wire direction: ``"TB"`` (inputs on top, outputs below) or ``"LR"``."""
        self.snap_to_grid = True
        """Moved nodes snap to a 20 px grid."""
        self._nodes: dict[str, NodeItem] = {}
        self._edges: dict[Edge, EdgeItem] = {}
        self._edges_at: dict[str, set[Edge]] = {}
        self._result: AnalysisResult | None = None
        self._quiet_selection = 0
        self._connect: ConnectionDrag | None = None
        self._move: MoveDrag | None = None
        self._dirty_rects: list[QRectF] = []
        self._reroute_timer = QTimer(self)
        self._reroute_timer.setSingleShot(True)
        self._reroute_timer.setInterval(0)
        self._reroute_timer.timeout.connect(self._on_reroute_timer_timeout)
        self.setBackgroundBrush(style.BACKGROUND)
        document.graph_event.connect(self._on_document_graph_event)
        document.reset.connect(self._on_document_reset)
        document.analysis_ready.connect(self._on_document_analysis_ready)
        document.edit_refused.connect(self.status_message)
        self.selectionChanged.connect(self._on_scene_selection_changed)
        self.rebuild()

    # ------------------------------------------------------------- building
    def rebuild(self) -> None:
        """Throw away every item and draw the document's graph afresh."""
        self._quiet_selection += 1
        try:
            self.clear()
            self._nodes.clear()
            self._edges.clear()
            self._edges_at.clear()
            graph = self.document.graph
            for node in graph.nodes.values():
                self._add_node_item(node.id)
            for edge in graph.edges:
                self._add_edge_item(edge)
        finally:
            self._quiet_selection -= 1
        self._apply_analysis(self.document.analysis)
        self.selection_changed_ids.emit([])

    def set_flow(self, flow: str) -> None:
        """Switch between top-to-bottom (``"TB"``) and left-to-right (``"LR"``) wiring."""
        if flow not in ("TB", "LR"):
            raise ValueError(f"flow must be 'TB' or 'LR', got {flow!r}")
        self.flow = flow
        self.rebuild()

    def _add_node_item(self, node_id: str) -> None:
        item = NodeItem(self.document.graph.node(node_id), self.flow)
        self._nodes[node_id] = item
        self.addItem(item)

    def _add_edge_item(self, edge: Edge) -> None:
        src, dst = self._nodes.get(edge.src.node), self._nodes.get(edge.dst.node)
        if src is None or dst is None:
            return
        item = EdgeItem(edge, src, dst, self.flow)
        self._edges[edge] = item
        for nid in (edge.src.node, edge.dst.node):
            self._edges_at.setdefault(nid, set()).add(edge)
        self.addItem(item)
        item.update_path()  # now that it is in the scene, it can route around other nodes

    def _remove_edge_item(self, edge: Edge) -> None:
        item = self._edges.pop(edge, None)
        for nid in (edge.src.node, edge.dst.node):
            self._edges_at.get(nid, set()).discard(edge)
        if item is not None:
            self.removeItem(item)

    def _update_wires_of(self, node_id: str, old_rect: QRectF | None = None) -> None:
        for edge in self._edges_at.get(node_id, ()):
            self._edges[edge].update_path()
        item = self._nodes.get(node_id)
        if item is not None:
            # Long wires elsewhere may now have to go around this node, or no longer need to.
            self._dirty_rects.append(item.sceneBoundingRect())
            if old_rect is not None:
                self._dirty_rects.append(old_rect)
            self._reroute_timer.start()

    def _on_reroute_timer_timeout(self) -> None:
        rects, self._dirty_rects = self._dirty_rects, []
        for item in self._edges.values():
            if item.is_long and any(item.boundingRect().intersects(r) for r in rects):
                item.update_path()

    # ------------------------------------------------------- model listeners
    def _on_document_reset(self) -> None:
        self.rebuild()

    def _on_document_graph_event(self, event: GraphEvent) -> None:
        kind = event.kind
        if kind == GraphEvent.NODE_CHANGED and event.node_id in self._nodes:
            item = self._nodes[event.node_id]
            old_rect = item.sceneBoundingRect()
            item.on_node_changed(event.detail, self._result)
            if event.detail in ("position", "params"):
                self._update_wires_of(event.node_id, old_rect)
        elif kind == GraphEvent.NODE_ADDED:
            self._add_node_item(event.node_id)
            nodes = self.document.graph.nodes
            if next(reversed(nodes)) != event.node_id:  # an undone delete restores its place
                self._nodes = {nid: self._nodes[nid] for nid in nodes if nid in self._nodes}
        elif kind == GraphEvent.NODE_REMOVED:
            item = self._nodes.pop(event.node_id, None)
            self._edges_at.pop(event.node_id, None)
            if item is not None:
                self.removeItem(item)
        elif kind == GraphEvent.EDGE_ADDED and event.edge is not None:
            self._add_edge_item(event.edge)
        elif kind == GraphEvent.EDGE_REMOVED and event.edge is not None:
            self._remove_edge_item(event.edge)

    def _on_document_analysis_ready(self, result: AnalysisResult) -> None:
        self._apply_analysis(result)

    def _apply_analysis(self, result: AnalysisResult) -> None:
        self._result = result
        by_node: dict[str, list[Diagnostic]] = {}
        red: set[Edge] = set()
        for d in result.diagnostics:
            if d.node_id is not None:
                by_node.setdefault(d.node_id, []).append(d)
            if d.edge is not None and d.is_error:
                red.add(d.edge)
        graph = self.document.graph
        for node_id, item in self._nodes.items():
            diags = by_node.get(node_id, [])
            item.refresh_texts(result, diags)
            red |= self._wires_blamed(node_id, diags, result)
        owners: set = set()
        for edge in graph.edges:
            item = self._edges.get(edge)
            if item is None:
                continue
            spec = result.edge_specs.get(edge)
            item.set_state(str(spec) if spec else "", edge in red, edge.src not in owners)
            owners.add(edge.src)

    def _wires_blamed(self, node_id: str, diags: list[Diagnostic], result) -> set[Edge]:
        """Wires into a node whose shape rule rejected its inputs: the port a fix names, or all
        its inputs (parameter and structure errors leave the wires alone)."""
        if not any(d.is_error for d in diags):
            return set()
        info = result.nodes.get(node_id)
        if info is None or info.ok or not info.inputs:
            return set()
        ports = {f.port for d in diags for f in d.fixes if f.port}
        edges = self.document.graph.edges_into(node_id)
        return {e for e in edges if not ports or e.dst.port in ports}

    # ------------------------------------------------------------- queries
    def node_item(self, node_id: str) -> NodeItem | None:
        """The item drawing this node."""
        return self._nodes.get(node_id)

    def edge_item(self, edge: Edge) -> EdgeItem | None:
        """The item drawing this wire."""
        return self._edges.get(edge)

    def node_items(self) -> list[NodeItem]:
        """Every node item, in the graph's order."""
        return list(self._nodes.values())

    def edge_items(self) -> list[EdgeItem]:
        """Every wire item."""
        return list(self._edges.values())

    @property
    def analysis(self) -> AnalysisResult | None:
        """The analysis the items currently show."""
        return self._result

    # ------------------------------------------------------------- selection
    def selected_node_ids(self) -> list[str]:
        """Ids of the selected nodes, in the graph's order."""
        return [nid for nid, item in self._nodes.items() if item.isSelected()]

    def selected_edges(self) -> list[Edge]:
        """The selected wires."""
        return [edge for edge, item in self._edges.items() if item.isSelected()]

    def select_nodes(self, ids: Iterable[str]) -> None:
        """Select exactly these nodes (unknown ids are ignored)."""
        wanted = set(ids)
        self._quiet_selection += 1
        try:
            self.clearSelection()
            for nid in wanted:
                if nid in self._nodes:
                    self._nodes[nid].setSelected(True)
        finally:
            self._quiet_selection -= 1
        self._on_scene_selection_changed()

    def _on_scene_selection_changed(self) -> None:
        if not self._quiet_selection:
            self.selection_changed_ids.emit(self.selected_node_ids())

    def nodes_rect(self) -> QRectF:
        """The area the nodes cover (empty for an empty graph)."""
        rect = QRectF()
        for item in self._nodes.values():
            rect |= item.sceneBoundingRect()
        return rect

    # ----------------------------------------------------------------- edits
    def add_layer(self, type_id: str, pos: QPointF | tuple[float, float]) -> str | None:
        """Add a layer with default parameters centred on ``pos``; its id (None if refused)."""
        x, y = (pos.x(), pos.y()) if isinstance(pos, QPointF) else pos
        x, y = x - style.NODE_WIDTH / 2, y - style.NODE_HEIGHT / 2
        if self.snap_to_grid:
            x, y = snap(x), snap(y)
        try:
            node = editing.new_node(self.document.graph, type_id, (x, y))
        except DLStudioError as exc:
            self.status_message.emit(str(exc))
            return None
        if not self.document.push(AddNode(node)):
            return None
        self.select_nodes([node.id])
        return node.id

    def connect_ports(self, src: tuple[str, str], dst: tuple[str, str]) -> bool:
        """Wire output ``(node_id, port)`` to input ``(node_id, port)``; False with the reason
        as a status message when the wire cannot be drawn."""
        a, b = PortRef(*src), PortRef(*dst)
        problem = editing.connection_problem(self.document.graph, a, b)
        if problem:
            self.status_message.emit(f"Not connected: {problem}")
            return False
        return self.document.push(Connect(Edge(a, b)))

    def delete_selection(self) -> bool:
        """Remove the selected nodes (with their wires) and selected wires, as one undo step."""
        command = editing.delete_command(
            self.document.graph, self.selected_node_ids(), self.selected_edges()
        )
        return command is not None and self.document.push(command)

    def copy_selection(self) -> bool:
        """Put the selected nodes and the wires between them on the clipboard."""
        ids = self.selected_node_ids()
        if not ids:
            return False
        data = QMimeData()
        payload = editing.copy_payload(self.document.graph, ids)
        data.setData(editing.NODES_MIME, payload.encode("utf-8"))
        QGuiApplication.clipboard().setMimeData(data)
        self.status_message.emit(f"Copied {len(ids)} layer(s)")
        return True

    def cut_selection(self) -> bool:
        """Copy, then delete the selection (one undo step for the delete)."""
        return self.copy_selection() and self.delete_selection()

    def paste(self, at: QPointF | None = None) -> list[str]:
        """Paste copied nodes (offset from the originals, or with their corner at ``at``);
        selects and returns the new ids."""
        data = QGuiApplication.clipboard().mimeData()
        if data is None or not data.hasFormat(editing.NODES_MIME):
            self.status_message.emit("Nothing to paste: copy some layers first")
            return []
        return self._paste_payload(bytes(data.data(editing.NODES_MIME).data()), at)

    def duplicate_selection(self) -> list[str]:
        """Copy the selection in place, offset, without touching the clipboard."""
        ids = self.selected_node_ids()
        if not ids:
            return []
        return self._paste_payload(editing.copy_payload(self.document.graph, ids).encode(), None)

    def _paste_payload(self, payload: bytes, at: QPointF | None) -> list[str]:
        try:
            offset = editing.PASTE_OFFSET
            if at is not None:
                ox, oy = editing.payload_origin(payload)
                offset = (snap(at.x()) - ox, snap(at.y()) - oy)
            command, ids = editing.paste_command(self.document.graph, payload, offset)
        except DLStudioError as exc:
            self.status_message.emit(f"Cannot paste: {exc}")
            return []
        if not self.document.push(command):
            return []
        self.select_nodes(ids)
        self.status_message.emit(f"Pasted {len(ids)} layer(s)")
        return ids

    def rename_node(self, node_id: str, name: str) -> bool:
        """Rename a node (refused, with the reason, for an empty or taken name)."""
        if node_id not in self.document.graph or self.document.graph.node(node_id).name == name:
            return False
        return self.document.push(RenameNode(node_id, name.strip()))

    def set_frozen(self, node_ids: Iterable[str], frozen: bool) -> bool:
        """Freeze or unfreeze nodes' weights, as one undo step."""
        graph = self.document.graph
        steps = [SetTrainable(n, not frozen) for n in node_ids if graph.node(n).trainable == frozen]
        if not steps:
            return False
        return self.document.push(MacroCommand("freeze" if frozen else "unfreeze", steps))

    def auto_layout(self, direction: str | None = None) -> bool:
        """Arrange all nodes by the data flow, as one undo step (keeps the top-left corner)."""
        from dlstudio.analysis.layout import auto_layout

        graph = self.document.graph
        if not len(graph):
            return False
        positions = auto_layout(graph, direction or self.flow)
        origin = (
            snap(min(n.position[0] for n in graph)),
            snap(min(n.position[1] for n in graph)),
        )
        command = editing.layout_command(graph, positions, origin)
        return command is not None and self.document.push(command)

    def apply_fix(self, diagnostic: Diagnostic, fix_index: int = 0) -> bool:
        """Apply one of a diagnostic's one-click fixes (one undo step)."""
        if diagnostic.node_id is None or not 0 <= fix_index < len(diagnostic.fixes):
            return False
        fix = diagnostic.fixes[fix_index]
        try:
            command = command_for_fix(self.document.graph, diagnostic.node_id, fix)
        except DLStudioError as exc:
            self.status_message.emit(f"Cannot apply {fix.label!r}: {exc}")
            return False
        ok = self.document.push(command)
        if ok:
            self.status_message.emit(f"Applied: {fix.label}")
        return ok

    def insert_layer_on_wire(self, edge: Edge, type_id: str) -> str | None:
        """Put a new layer in the middle of a wire (one undo step); its id."""
        try:
            command, node_id = editing.insert_on_wire_command(self.document.graph, edge, type_id)
        except DLStudioError as exc:
            self.status_message.emit(str(exc))
            return None
        return node_id if self.document.push(command) else None

    def request_help(self, type_id: str) -> None:
        """Ask whoever listens (the help panel) to explain a layer type; without a listener,
        show the explanation in a message box."""
        if self.isSignalConnected(QMetaMethod.fromSignal(self.help_requested)):
            self.help_requested.emit(type_id)
            return
        layer = get_layer_type(type_id)
        parent = self.views()[0] if self.views() else None
        QMessageBox.information(parent, f"{layer.label} layer", layer.help_text())

    def can_paste(self) -> bool:
        """True when the clipboard holds copied layers."""
        data = QGuiApplication.clipboard().mimeData()
        return data is not None and data.hasFormat(editing.NODES_MIME)

    def select_all(self) -> None:
        """Select every node."""
        self.select_nodes(self._nodes)

    def fit_views(self) -> None:
        """Fit every view showing this scene to the graph."""
        for view in self.views():
            if hasattr(view, "fit_all"):
                view.fit_all()

    def center_on_node(self, node_id: str) -> None:
        """Scroll every view so the node is in the middle."""
        item = self._nodes.get(node_id)
        if item is not None:
            for view in self.views():
                view.centerOn(item)

    def first_error(self) -> Diagnostic | None:
        """The first error the canvas shows, if any."""
        if self._result is None:
            return None
        return next((d for d in self._result.diagnostics if d.severity == ERROR), None)

    # ------------------------------------------------------------ background
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, style.BACKGROUND)
        lod = _lod(painter)
        for every, colour, width in ((1, style.GRID_DOT, 1.6), (5, style.GRID_DOT_MAJOR, 2.2)):
            step = style.GRID_SIZE * every
            if step * lod < 9:
                continue  # dots closer than 9 px are noise
            # One dotted line per row (a dash pattern in device pixels) instead of thousands of
            # points drawn from Python: a few dozen calls per frame.
            pen = QPen(colour, width)
            pen.setCosmetic(True)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            pen.setDashPattern([0.001, step * lod / width - 0.001])
            painter.setPen(pen)
            left = math.floor(rect.left() / step) * step
            y = math.floor(rect.top() / step) * step
            while y <= rect.bottom():
                painter.drawLine(QPointF(left, y), QPointF(rect.right() + step, y))
                y += step

    # ----------------------------------------------------------------- input
    def item_at(self, pos: QPointF) -> QGraphicsItem | None:
        """The port, node or wire under a scene point (ports first: they sit on nodes)."""
        for item in self.items(pos):
            if isinstance(item, (PortItem, NodeItem, EdgeItem)):
                return item
        return None

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            item = self.item_at(event.scenePos())
            if isinstance(item, PortItem):
                self._connect = ConnectionDrag(self, item)
                event.accept()
                return
            super().mousePressEvent(event)
            if isinstance(item, NodeItem):
                self._move = MoveDrag(self, item, event.scenePos())
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._connect is not None:
            self._connect.move(event.scenePos())
            event.accept()
            return
        if self._move is not None and event.buttons() & Qt.MouseButton.LeftButton:
            self._move.move(event.scenePos(), QApplication.startDragDistance())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._connect is not None and event.button() == Qt.MouseButton.LeftButton:
            drag, self._connect = self._connect, None
            drag.finish(event.scenePos())
            event.accept()
            return
        if self._move is not None and event.button() == Qt.MouseButton.LeftButton:
            self._move.finish()
            self._move = None
        # Items treat a release away from the press point as the end of a drag, not a click.
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        item = self.item_at(event.scenePos())
        if isinstance(item, NodeItem):
            self.rename_requested.emit(item.node.id)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def contextMenuEvent(self, event: QGraphicsSceneContextMenuEvent) -> None:
        from dlstudio.gui.canvas.menus import context_menu

        menu = context_menu(self, event.scenePos())
        menu.exec(event.screenPos())

    def dragEnterEvent(self, event: QGraphicsSceneDragDropEvent) -> None:
        event.setAccepted(event.mimeData().hasFormat(editing.LAYER_MIME))

    def dragMoveEvent(self, event: QGraphicsSceneDragDropEvent) -> None:
        event.setAccepted(event.mimeData().hasFormat(editing.LAYER_MIME))

    def dropEvent(self, event: QGraphicsSceneDragDropEvent) -> None:
        data = event.mimeData()
        if not data.hasFormat(editing.LAYER_MIME):
            event.ignore()
            return
        type_id = bytes(data.data(editing.LAYER_MIME).data()).decode("utf-8", "replace")
        event.setAccepted(self.add_layer(type_id.strip(), event.scenePos()) is not None)


def _lod(painter: QPainter) -> float:
    """The zoom level a painter draws at (1.0 = 100 %)."""
    t: QTransform = painter.worldTransform()
    return (t.m11() ** 2 + t.m12() ** 2) ** 0.5
