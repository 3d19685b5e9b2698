"""``SceneMirror``: the document's graph as Qt items, kept in step with the graph's events."""

from __future__ import annotations

import math
from collections.abc import Iterable

from PySide6.QtCore import QLineF, QPointF, QRect, QRectF, QTimer, Signal
from PySide6.QtGui import QPainter, QPen, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene

from dlstudio.analysis import AnalysisResult
from dlstudio.analysis.diagnostics import Diagnostic
from dlstudio.core import Edge, GraphEvent
from dlstudio.core.blocks import BLOCK_TYPE
from dlstudio.gui.canvas import style
from dlstudio.gui.canvas.block_item import BlockNodeItem
from dlstudio.gui.canvas.edge_item import EdgeItem
from dlstudio.gui.canvas.node_item import NodeItem, PortItem
from dlstudio.gui.document import GraphDocument


class SceneMirror(QGraphicsScene):
    """The document's graph as items: rebuilt on ``reset``, updated item by item on
    ``graph_event``, recoloured on ``analysis_ready``. :class:`GraphScene` adds the edits."""

    status_message = Signal(str)
    """A line for the status bar: why a connection was refused, what was pasted..."""
    selection_changed_ids = Signal(list)
    """The ids of the selected nodes, after every selection change."""
    help_requested = Signal(str)
    """The user asked for help on a layer type (its id)."""
    rename_requested = Signal(str)
    attention_requested = Signal(tuple)
    """The user asked for the attention map of a node: its location (node ids from the top
    graph down, see :class:`~dlstudio.analysis.attention_sites.AttentionSite`)."""
    """The user asked to rename a node (its id); the view opens an inline editor."""

    def __init__(self, document: GraphDocument, parent=None, flow: str | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.flow = flow or document_flow(document.graph)
        """Wire direction: ``"TB"`` (inputs on top, outputs below) or ``"LR"``; the
        document's ``layout_direction`` unless given."""
        self.snap_to_grid = True
        """Moved nodes snap to a 20 px grid."""
        self._nodes: dict[str, NodeItem] = {}
        self._edges: dict[Edge, EdgeItem] = {}
        self._edges_at: dict[str, set[Edge]] = {}
        self._result: AnalysisResult | None = None
        self._quiet_selection = 0
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
        """Draw with top-to-bottom (``"TB"``) or left-to-right (``"LR"``) wiring, without
        recording it in the document (the canvas's auto layout records it, undoably)."""
        if flow not in ("TB", "LR"):
            raise ValueError(f"flow must be 'TB' or 'LR', got {flow!r}")
        self.flow = flow
        self.rebuild()

    def _add_node_item(self, node_id: str) -> None:
        node = self.document.graph.node(node_id)
        if node.type_id == BLOCK_TYPE:
            item: NodeItem = BlockNodeItem(node, self.document.blocks, self.flow)
        else:
            item = NodeItem(node, self.flow)
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
        self.flow = document_flow(self.document.graph)  # each document its own direction
        self.rebuild()

    def _on_document_graph_event(self, event: GraphEvent) -> None:
        kind = event.kind
        if kind == GraphEvent.NODE_CHANGED and event.node_id in self._nodes:
            item = self._nodes[event.node_id]
            old_rect = item.sceneBoundingRect()
            item.on_node_changed(event.detail, self._result)
            if event.detail in ("position", "params"):
                self._update_wires_of(event.node_id, old_rect)
        elif kind == GraphEvent.NODE_ADDED and event.node_id is not None:
            self._add_node_item(event.node_id)
            nodes = self.document.graph.nodes
            if next(reversed(nodes)) != event.node_id:  # an undone delete restores its place
                self._nodes = {nid: self._nodes[nid] for nid in nodes if nid in self._nodes}
        elif kind == GraphEvent.NODE_REMOVED and event.node_id is not None:
            removed = self._nodes.pop(event.node_id, None)
            self._edges_at.pop(event.node_id, None)
            if removed is not None:
                self.removeItem(removed)
        elif kind == GraphEvent.EDGE_ADDED and event.edge is not None:
            self._add_edge_item(event.edge)
        elif kind == GraphEvent.EDGE_REMOVED and event.edge is not None:
            self._remove_edge_item(event.edge)
        elif kind == GraphEvent.BLOCKS_CHANGED:
            self._on_blocks_changed()
        elif (
            kind == GraphEvent.METADATA_CHANGED
            and event.detail == LAYOUT_DIRECTION_KEY
            and document_flow(self.document.graph) != self.flow
        ):
            self.set_flow(document_flow(self.document.graph))

    def _on_blocks_changed(self) -> None:
        """A definition changed: instances redraw their name, ports and parameters."""
        for node_id, item in self._nodes.items():
            if isinstance(item, BlockNodeItem):
                item.sync_block(self._result)
                self._update_wires_of(node_id)

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
            wire = self._edges.get(edge)
            if wire is None:
                continue
            spec = result.edge_specs.get(edge)
            wire.set_state(wire_label(spec), edge in red, edge.src not in owners)
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
        """The area the nodes and their wires cover (empty for an empty graph): a wire that
        loops between two bands of a folded layout is seen whole when fitted."""
        rect = QRectF()
        for item in self._nodes.values():
            rect |= item.sceneBoundingRect()
        if rect.isEmpty():
            return rect
        for edge in self._edges.values():
            rect |= edge.sceneBoundingRect()
        return rect

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

    # ------------------------------------------------------------ background
    def drawBackground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        rect = QRectF(rect)  # Qt passes a QRectF; its signature also allows a QRect
        painter.fillRect(rect, style.BACKGROUND)
        lod = _lod(painter)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)  # crisp 1 px lines
        for every, colour in ((1, style.GRID_LINE), (5, style.GRID_LINE_MAJOR)):
            step = style.GRID_SIZE * every
            if step * lod < 16:
                continue  # lines closer than 16 px are noise
            pen = QPen(colour, 1.0)
            pen.setCosmetic(True)
            painter.setPen(pen)
            # Solid lines in two batched calls: cheap enough to redraw on every frame.
            x0, y0 = math.floor(rect.left() / step) * step, math.floor(rect.top() / step) * step
            nx = int((rect.right() - x0) / step) + 1
            ny = int((rect.bottom() - y0) / step) + 1
            lines = [
                QLineF(x0 + i * step, rect.top(), x0 + i * step, rect.bottom()) for i in range(nx)
            ]
            lines += [
                QLineF(rect.left(), y0 + j * step, rect.right(), y0 + j * step) for j in range(ny)
            ]
            painter.drawLines(lines)
        painter.restore()

    def item_at(self, pos: QPointF) -> QGraphicsItem | None:
        """The port, node or wire under a scene point (ports first: they sit on nodes)."""
        for item in self.items(pos):
            if isinstance(item, (PortItem, NodeItem, EdgeItem)):
                return item
        return None


LAYOUT_DIRECTION_KEY = "layout_direction"
"""Document metadata key of the layout direction, ``"TB"`` (the default) or ``"LR"``."""


def document_flow(graph) -> str:
    """The layout direction a graph's document asks for (``"TB"`` when unset or invalid)."""
    value = graph.metadata.get(LAYOUT_DIRECTION_KEY, "TB")
    return value if value in ("TB", "LR") else "TB"


def _lod(painter: QPainter) -> float:
    """The zoom level a painter draws at (1.0 = 100 %)."""
    t: QTransform = painter.worldTransform()
    return (t.m11() ** 2 + t.m12() ** 2) ** 0.5


def wire_label(spec) -> str:
    """A wire's label: the tensor's shape, and whether a padding mask travels with it."""
    if spec is None:
        return ""
    return f"{spec} padded" if spec.mask else str(spec)
