"""The node-graph canvas: layers as boxes, tensors as wires, edits as undoable commands.

Public API (what the main window and the panels use)::

    document = Document(graph)
    scene = GraphScene(document)           # flow="TB" (default) or "LR"
    view = GraphView(scene)                # the widget to embed

GraphScene
    signals: ``status_message(str)`` (why a wire was refused, what was pasted...),
    ``selection_changed_ids(list[str])``, ``help_requested(str type_id)`` (without a listener a
    message box explains the layer), ``rename_requested(str node_id)`` (the view edits inline).
    selection: ``select_nodes(ids)``, ``selected_node_ids()``, ``selected_edges()``,
    ``select_all()``, ``center_on_node(id)``.
    edits (each one undo step on ``document``): ``add_layer(type_id, pos) -> id | None``,
    ``connect_ports((src_id, port), (dst_id, port)) -> bool``, ``delete_selection()``,
    ``copy_selection()``, ``cut_selection()``, ``paste(at=None) -> ids``,
    ``duplicate_selection() -> ids``, ``rename_node(id, name)``, ``set_frozen(ids, frozen)``,
    ``auto_layout(direction=None)``, ``apply_fix(diagnostic, fix_index=0)``,
    ``insert_layer_on_wire(edge, type_id) -> id | None``.
    items: ``node_item(id)``, ``edge_item(edge)``, ``node_items()``, ``edge_items()``;
    options: ``snap_to_grid`` (bool), ``set_flow("TB" | "LR")``.

GraphView
    ``fit_all()``, ``center_on_node(id)``, ``zoom()``, ``set_zoom(level)``, ``zoom_by(factor)``,
    ``start_rename(id)``; ``edit_actions``: QActions by name (copy, cut, paste, duplicate,
    delete, select_all, rename, fit, auto_layout, zoom_in, zoom_out, zoom_reset, snap) with the
    platform's standard shortcuts, active while the canvas has focus; put them in the Edit
    menu. Undo/Redo are the main window's (``document.undo()`` / ``document.redo()``).

Drag and drop: the canvas accepts ``application/x-dlstudio-layer`` (a layer type id, UTF-8)
and places the new node at the drop point. Copied nodes travel on the clipboard as
``application/x-dlstudio-nodes`` (project JSON of the nodes and the wires between them).
"""

from __future__ import annotations

from dlstudio.gui.canvas.edge_item import EdgeItem
from dlstudio.gui.canvas.editing import LAYER_MIME, NODES_MIME
from dlstudio.gui.canvas.node_item import NodeItem, PortItem
from dlstudio.gui.canvas.scene import GraphScene
from dlstudio.gui.canvas.view import GraphView

__all__ = [
    "LAYER_MIME",
    "NODES_MIME",
    "EdgeItem",
    "GraphScene",
    "GraphView",
    "NodeItem",
    "PortItem",
]
