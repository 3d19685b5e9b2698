"""Right-click menus of the canvas: on empty space, on a node, on a wire."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QMetaMethod, QPointF
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from dlstudio.analysis.attention_sites import contains_attention
from dlstudio.core import Edge
from dlstudio.core.blocks import BLOCK_TYPE
from dlstudio.gui.blocks.level import DocumentLevel
from dlstudio.gui.canvas.block_item import BlockNodeItem
from dlstudio.gui.canvas.edge_item import EdgeItem
from dlstudio.gui.canvas.node_item import NodeItem, PortItem
from dlstudio.layers import all_layer_types

if TYPE_CHECKING:
    from dlstudio.gui.canvas.scene import GraphScene


def _action(menu: QMenu, name: str, text: str, slot, enabled: bool = True) -> QAction:
    action = menu.addAction(text)
    action.setObjectName(name)
    action.setEnabled(enabled)
    action.triggered.connect(slot)
    return action


def _layer_menu(parent: QMenu, title: str, name: str, on_pick, single_io: bool = False) -> QMenu:
    """A submenu of every layer type, one submenu per category."""
    menu = parent.addMenu(title)
    menu.setObjectName(name)
    by_category: dict[str, QMenu] = {}
    for layer in all_layer_types():
        defaults = layer.defaults()
        if single_io and (
            len(layer.output_ports(defaults)) != 1 or not layer.input_ports(defaults)
        ):
            continue
        sub = by_category.get(layer.category)
        if sub is None:
            sub = by_category[layer.category] = menu.addMenu(layer.category)
        action = sub.addAction(layer.label)
        action.setObjectName(f"{name}:{layer.id}")
        action.setToolTip(layer.summary)
        action.triggered.connect(lambda _=False, t=layer.id: on_pick(t))
    menu.setToolTipsVisible(True)
    return menu


def context_menu(scene: GraphScene, pos: QPointF) -> QMenu:
    """The menu for a right-click at ``pos``: it depends on what lies under the mouse."""
    item = scene.item_at(pos)
    if isinstance(item, PortItem):
        item = item.node_item
    if isinstance(item, NodeItem):
        if not item.isSelected():
            scene.select_nodes([item.node.id])
        return _node_menu(scene, item)
    if isinstance(item, EdgeItem):
        if not item.isSelected():
            scene.clearSelection()
            item.setSelected(True)
        return _wire_menu(scene, item.edge)
    return _canvas_menu(scene, pos)


def _canvas_menu(scene: GraphScene, pos: QPointF) -> QMenu:
    menu = QMenu()
    menu.setObjectName("canvas_menu")
    _layer_menu(menu, "Add layer", "add_layer", lambda t: scene.add_layer(t, pos))
    menu.addSeparator()
    _action(menu, "paste", "Paste", lambda: scene.paste(at=pos), scene.can_paste())
    _action(menu, "select_all", "Select all", scene.select_all)
    menu.addSeparator()
    _action(menu, "auto_layout", "Auto layout", scene.auto_layout, len(scene.document.graph) > 0)
    _action(menu, "fit", "Fit to view", scene.fit_views)
    return menu


def _node_menu(scene: GraphScene, item: NodeItem) -> QMenu:
    menu = QMenu()
    menu.setObjectName("node_menu")
    node = item.node
    ids = scene.selected_node_ids()
    _action(menu, "rename", "Rename…", lambda: scene.rename_requested.emit(node.id))
    _block_actions(menu, scene, item, ids)
    frozen = not node.trainable
    _action(
        menu,
        "freeze",
        "Unfreeze weights" if frozen else "Freeze weights",
        lambda: scene.set_frozen(ids, not frozen),
    )
    _action(menu, "duplicate", "Duplicate", scene.duplicate_selection)
    _action(menu, "copy", "Copy", scene.copy_selection)
    _action(menu, "delete", "Delete", scene.delete_selection)
    diagnostics = scene.analysis.diagnostics_for(node.id) if scene.analysis else []
    fixes = [(d, i, f) for d in diagnostics for i, f in enumerate(d.fixes)]
    if fixes:
        menu.addSeparator()
        for d, i, fix in fixes:
            _action(
                menu,
                f"fix:{i}",
                f"Fix: {fix.label}",
                lambda _=False, d=d, i=i: scene.apply_fix(d, i),
            )
    _attention_action(menu, scene, item)
    menu.addSeparator()
    label = item.layer.label if item.layer else node.type_id
    _action(
        menu,
        "help",
        f"Help on {label}",
        lambda: scene.request_help(node.type_id),
        item.layer is not None,
    )
    return menu


def _attention_action(menu: QMenu, scene: GraphScene, item: NodeItem) -> None:
    """Show Attention Map, on a node that attends (or a block instance with attention in it)."""
    document = scene.document
    root = document.root
    if not contains_attention(root, item.node):
        return
    path = document.path if isinstance(document, DocumentLevel) else ()
    location = (*path, item.node.id)
    listened = scene.isSignalConnected(QMetaMethod.fromSignal(scene.attention_requested))
    menu.addSeparator()
    _action(
        menu,
        "show_attention",
        "Show Attention Map",
        lambda: scene.attention_requested.emit(location),
        listened,
    )


def _block_actions(menu: QMenu, scene: GraphScene, item: NodeItem, ids: list[str]) -> None:
    """Open, group and ungroup: the block edits of a node's menu."""
    menu.addSeparator()
    if isinstance(item, BlockNodeItem):
        _action(
            menu,
            "open_block",
            f"Open {item.definition_name}",
            lambda: scene.open_block(item.node.id),
            isinstance(scene.document, DocumentLevel),
        )
    _action(menu, "group", "Group into Block\tCtrl+G", lambda: scene.group_selection())
    graph = scene.document.graph
    has_instance = any(i in graph and graph.node(i).type_id == BLOCK_TYPE for i in ids)
    _action(menu, "ungroup", "Ungroup\tCtrl+Shift+G", scene.ungroup_selection, has_instance)
    menu.addSeparator()


def _wire_menu(scene: GraphScene, edge: Edge) -> QMenu:
    menu = QMenu()
    menu.setObjectName("wire_menu")
    _action(menu, "delete", "Delete wire", scene.delete_selection)
    _layer_menu(
        menu,
        "Insert layer on wire",
        "insert_layer",
        lambda t: scene.insert_layer_on_wire(edge, t),
        single_io=True,
    )
    return menu
