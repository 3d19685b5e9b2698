"""``GraphScene``: the canvas's edits (each one command on the document) and mouse input."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QMetaMethod, QMimeData, QPointF, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsSceneContextMenuEvent,
    QGraphicsSceneDragDropEvent,
    QGraphicsSceneMouseEvent,
    QMessageBox,
)

from dlstudio.analysis.diagnostics import Diagnostic
from dlstudio.analysis.fixes import command_for_fix
from dlstudio.core import (
    AddNode,
    Connect,
    DLStudioError,
    Edge,
    MacroCommand,
    PortRef,
    RenameNode,
    SetMetadata,
    SetTrainable,
)
from dlstudio.gui.blocks import edits as block_edits
from dlstudio.gui.blocks import library as block_library
from dlstudio.gui.blocks.level import DocumentLevel
from dlstudio.gui.blocks.library import BLOCK_MIME, decode_block
from dlstudio.gui.canvas import editing, style
from dlstudio.gui.canvas.block_item import BlockNodeItem
from dlstudio.gui.canvas.drag import ConnectionDrag, MoveDrag, snap
from dlstudio.gui.canvas.mirror import LAYOUT_DIRECTION_KEY, SceneMirror, document_flow
from dlstudio.gui.canvas.node_item import NodeItem, PortItem
from dlstudio.gui.canvas.placement import place_new_nodes
from dlstudio.gui.document import GraphDocument
from dlstudio.layers import get_layer_type


class GraphScene(SceneMirror):
    """Nodes and wires of a document's graph (see :class:`SceneMirror`), and the edits the
    canvas offers. Every edit goes through ``document.push``; the items only follow the model."""

    def __init__(self, document: GraphDocument, parent=None, flow: str | None = None) -> None:
        self._connect: ConnectionDrag | None = None
        self._move: MoveDrag | None = None
        super().__init__(document, parent, flow)

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
        if not self.document.push(place_new_nodes(self.document.graph, AddNode(node))):
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
        payload = editing.copy_payload(self.document.graph, ids, self.document.blocks)
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
        payload = editing.copy_payload(self.document.graph, ids, self.document.blocks)
        return self._paste_payload(payload.encode(), None)

    def _paste_payload(self, payload: bytes, at: QPointF | None) -> list[str]:
        try:
            offset = editing.PASTE_OFFSET
            if at is not None:
                ox, oy = editing.payload_origin(payload)
                offset = (snap(at.x()) - ox, snap(at.y()) - oy)
            command, ids = editing.paste_command(
                self.document.graph, payload, offset, self.document.blocks
            )
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
        """Arrange all nodes by the data flow, as one undo step (keeps the top-left corner),
        folding a long graph into bands that fit the view; then fit the views to it. A new
        ``direction`` ("TB" or "LR") is recorded in the document in the same step."""
        from dlstudio.analysis.layout import auto_layout

        graph = self.document.graph
        direction = direction or self.flow
        if direction not in ("TB", "LR"):
            raise ValueError(f"direction must be 'TB' or 'LR', got {direction!r}")
        steps: list = []
        if direction != document_flow(graph):
            steps.append(SetMetadata(LAYOUT_DIRECTION_KEY, direction))
        if not len(graph):
            return bool(steps) and self.document.push(MacroCommand("layout direction", steps))
        views = self.views()
        size = views[0].viewport().size() if views else None
        view = (float(size.width()), float(size.height())) if size and size.width() > 50 else None
        positions = auto_layout(graph, direction, view)
        origin = (
            snap(min(n.position[0] for n in graph)),
            snap(min(n.position[1] for n in graph)),
        )
        command = editing.layout_command(graph, positions, origin)
        if command is not None:
            steps.append(command)
        text = "auto layout"
        if steps and isinstance(steps[0], SetMetadata):
            text = {"TB": "layout top to bottom", "LR": "layout left to right"}[direction]
        moved = bool(steps) and self.document.push(MacroCommand(text, steps))
        self.fit_views()
        return moved

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
        ok = self.document.push(place_new_nodes(self.document.graph, command))
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
        return (
            node_id if self.document.push(place_new_nodes(self.document.graph, command)) else None
        )

    def request_help(self, type_id: str) -> None:
        """Ask whoever listens (the help panel) to explain a layer type; without a listener,
        show the explanation in a message box."""
        if self.isSignalConnected(QMetaMethod.fromSignal(self.help_requested)):
            self.help_requested.emit(type_id)
            return
        layer = get_layer_type(type_id)
        parent = self.views()[0] if self.views() else None
        QMessageBox.information(parent, f"{layer.label} layer", layer.help_text())

    # ---------------------------------------------------------------- blocks
    def _tree(self) -> tuple[GraphDocument, str | None]:
        """The document holding the definitions, and the definition shown (None: the top)."""
        if isinstance(self.document, DocumentLevel):
            return self.document.document, self.document.definition
        return self.document, None

    def group_selection(self, name: str | None = None) -> str | None:
        """Group the selected layers into a new block (wires crossing the selection become its
        ports) and one instance of it, as one undo step; the instance's id."""
        ids = self.selected_node_ids()
        if not ids:
            self.status_message.emit("Select the layers to group into a block first")
            return None
        root_doc, where = self._tree()
        name = name or block_edits.free_definition_name(root_doc.blocks)
        analysis = self.document.analysis
        try:
            command = block_edits.group_command(root_doc.graph, where, analysis, ids, name)
        except DLStudioError as exc:
            self.status_message.emit(f"Cannot group: {exc}")
            return None
        before = set(self.document.graph.nodes)
        if not root_doc.push(command):
            return None
        new = [n for n in self.document.graph.nodes if n not in before]
        self.select_nodes(new)
        self.status_message.emit(
            f"Grouped {len(ids)} layer(s) into block {name}; double-click it to edit inside"
        )
        return new[0] if new else None

    def ungroup_selection(self) -> bool:
        """Replace the selected block instances by their layers, as one undo step."""
        root_doc, where = self._tree()
        try:
            command = block_edits.ungroup_command(root_doc.graph, where, self.selected_node_ids())
        except DLStudioError as exc:
            self.status_message.emit(f"Cannot ungroup: {exc}")
            return False
        before = set(self.document.graph.nodes)
        if not root_doc.push(command):
            return False
        self.select_nodes(n for n in self.document.graph.nodes if n not in before)
        return True

    def add_block(self, source: str, name: str, pos: QPointF | tuple[float, float]) -> str | None:
        """Add an instance of a project (``source="project"``) or library block centred on
        ``pos``, adding a library definition to the project first: one undo step; its id."""
        root_doc, where = self._tree()
        blocks = root_doc.blocks if source == "project" else block_library.library_blocks()
        definition = blocks.get(name)
        if definition is None:
            self.status_message.emit(f"There is no {source} block called {name!r}")
            return None
        x, y = (pos.x(), pos.y()) if isinstance(pos, QPointF) else pos
        x, y = snap(x - style.NODE_WIDTH / 2), snap(y - style.NODE_HEIGHT / 2)
        try:
            command, node_id = block_edits.add_instance_command(
                root_doc.graph, where, definition, (x, y)
            )
        except DLStudioError as exc:
            self.status_message.emit(f"Cannot add block {name}: {exc}")
            return None
        if not root_doc.push(command):
            return None
        self.select_nodes([node_id])
        return node_id

    def open_block(self, node_id: str) -> bool:
        """Show the inside of block instance ``node_id`` (when the document can go down a
        level: see :class:`DocumentLevel`)."""
        return isinstance(self.document, DocumentLevel) and self.document.enter(node_id)

    def can_paste(self) -> bool:
        """True when the clipboard holds copied layers."""
        data = QGuiApplication.clipboard().mimeData()
        return data is not None and data.hasFormat(editing.NODES_MIME)

    # ----------------------------------------------------------------- input
    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            item = self.item_at(event.scenePos())
            if isinstance(item, PortItem):
                self._connect = ConnectionDrag(self, item)
                event.accept()
                return
            shift = event.modifiers() & Qt.KeyboardModifier.ShiftModifier
            if shift and isinstance(item, NodeItem):
                # Shift+click adds to the selection (Qt knows only Ctrl+click, which toggles).
                item.setSelected(True)
                event.accept()
            else:
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
        if isinstance(item, BlockNodeItem) and self.open_block(item.node.id):
            event.accept()
            return
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
        data = event.mimeData()
        event.setAccepted(data.hasFormat(editing.LAYER_MIME) or data.hasFormat(BLOCK_MIME))

    def dragMoveEvent(self, event: QGraphicsSceneDragDropEvent) -> None:
        data = event.mimeData()
        event.setAccepted(data.hasFormat(editing.LAYER_MIME) or data.hasFormat(BLOCK_MIME))

    def dropEvent(self, event: QGraphicsSceneDragDropEvent) -> None:
        data = event.mimeData()
        if data.hasFormat(BLOCK_MIME):
            block = decode_block(bytes(data.data(BLOCK_MIME).data()))
            added = block is not None and self.add_block(*block, event.scenePos()) is not None
            event.setAccepted(added)
            return
        if not data.hasFormat(editing.LAYER_MIME):
            event.ignore()
            return
        type_id = bytes(data.data(editing.LAYER_MIME).data()).decode("utf-8", "replace")
        event.setAccepted(self.add_layer(type_id.strip(), event.scenePos()) is not None)
