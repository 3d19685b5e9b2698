"""The layer palette: the catalogue by category, with search; drag a layer onto the canvas or
double-click it to add it at the centre of the view."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from PySide6.QtCore import QMimeData, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dlstudio.gui.blocks.library import BLOCK_MIME, encode_block
from dlstudio.gui.canvas import LAYER_MIME
from dlstudio.gui.canvas.style import category_color
from dlstudio.layers import CATEGORY_ORDER, LayerType, all_layer_types

_TYPE_ROLE = Qt.ItemDataRole.UserRole
_BLOCK_ROLE = Qt.ItemDataRole.UserRole + 2
BLOCKS_SECTION = "Blocks"


@cache
def category_icon(category: str) -> QIcon:
    """A small rounded swatch in the category's canvas colour, so palette and nodes match."""
    pixmap = QPixmap(14, 14)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(category_color(category)))
    painter.drawRoundedRect(QRectF(2, 2, 10, 10), 3, 3)
    painter.end()
    return QIcon(pixmap)


class _LayerTree(QTreeWidget):
    """A tree whose drags carry the layer type id under :data:`LAYER_MIME`."""

    def mimeTypes(self) -> list[str]:
        return [LAYER_MIME, BLOCK_MIME]

    def mimeData(self, items: Sequence[QTreeWidgetItem]) -> QMimeData:
        data = QMimeData()
        blocks = [i.data(0, _BLOCK_ROLE) for i in items if i.data(0, _BLOCK_ROLE)]
        if blocks:
            source, name = blocks[0]
            data.setData(BLOCK_MIME, encode_block(source, name))
            data.setText(name)
            return data
        type_ids = [i.data(0, _TYPE_ROLE) for i in items if i.data(0, _TYPE_ROLE)]
        if type_ids:
            data.setData(LAYER_MIME, type_ids[0].encode("utf-8"))
            data.setText(type_ids[0])
        return data


class LayerPalette(QWidget):
    """Every layer type, grouped by category and filtered by the search box."""

    layer_activated = Signal(str)
    """A layer type id the user asked to add (double-click or Enter)."""
    block_activated = Signal(str, str)
    """A block the user asked to add: (``project`` or ``library``, its name)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search layers…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_search_changed)
        self.search.returnPressed.connect(self._on_search_return)
        self.tree = _LayerTree(self)
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setIndentation(14)
        self.tree.itemActivated.connect(self._on_tree_activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self._items: dict[str, QTreeWidgetItem] = {}
        self._block_items: dict[tuple[str, str], QTreeWidgetItem] = {}
        self._blocks_head: QTreeWidgetItem | None = None
        self._populate()

    def _populate(self) -> None:
        categories: dict[str, QTreeWidgetItem] = {}
        types = all_layer_types()
        extra = sorted({t.category for t in types} - set(CATEGORY_ORDER))
        for category in (*CATEGORY_ORDER, *extra):
            members = [t for t in types if t.category == category]
            if not members:
                continue
            head = QTreeWidgetItem(self.tree, [category])
            head.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = head.font(0)
            font.setBold(True)
            head.setFont(0, font)
            categories[category] = head
            for layer in members:
                self._items[layer.id] = self._layer_item(head, layer)
        self.tree.expandAll()
        # Wide enough for the longest layer name (indent, colour dot and scroll bar beside it),
        # so a narrow window never shows the palette as coloured dots.
        self.tree.ensurePolished()  # the style sheet's font, not the default one
        metrics = self.tree.fontMetrics()
        longest = max((metrics.horizontalAdvance(t.label) for t in types), default=100)
        self.setMinimumWidth(longest + self.tree.indentation() + 36)

    def _layer_item(self, parent: QTreeWidgetItem, layer: LayerType) -> QTreeWidgetItem:
        item = QTreeWidgetItem(parent, [layer.label])
        item.setIcon(0, category_icon(layer.category))
        item.setData(0, _TYPE_ROLE, layer.id)
        item.setToolTip(0, layer.help_text())
        item.setStatusTip(0, layer.summary)
        item.setFlags(
            Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled
        )
        # Searched by label, id and summary, so "linear" finds Dense via its summary text.
        item.setData(
            0, Qt.ItemDataRole.UserRole + 1, f"{layer.label} {layer.id} {layer.summary}".lower()
        )
        return item

    def set_blocks(self, project: list[tuple[str, str]], library: list[tuple[str, str]]) -> None:
        """Show the Blocks section: the project's definitions, then the built-in library's
        that the project does not have ((name, description) pairs)."""
        if self._blocks_head is None:
            self._blocks_head = QTreeWidgetItem([BLOCKS_SECTION])
            self.tree.insertTopLevelItem(0, self._blocks_head)  # the model's own parts first
            self._blocks_head.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = self._blocks_head.font(0)
            font.setBold(True)
            self._blocks_head.setFont(0, font)
        head = self._blocks_head
        head.takeChildren()
        self._block_items = {}
        names = {name for name, _ in project}
        rows = [("project", n, d) for n, d in project]
        rows += [("library", n, d) for n, d in library if n not in names]
        for source, name, description in rows:
            item = QTreeWidgetItem(head, [name if source == "project" else f"{name}  (library)"])
            item.setIcon(0, category_icon(BLOCKS_SECTION))
            item.setData(0, _BLOCK_ROLE, (source, name))
            where = "this project" if source == "project" else "the built-in library"
            tip = description or f"Block {name}"
            item.setToolTip(0, f"<b>{name}</b> — block from {where}<br>{tip}")
            item.setFlags(
                Qt.ItemFlag.ItemIsEnabled
                | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsDragEnabled
            )
            item.setData(0, Qt.ItemDataRole.UserRole + 1, f"{name} block {tip}".lower())
            self._block_items[(source, name)] = item
        head.setHidden(not rows)
        head.setExpanded(True)
        self._on_search_changed(self.search.text())

    def block_item_for(self, source: str, name: str) -> QTreeWidgetItem:
        """The tree item of a block in the Blocks section."""
        return self._block_items[(source, name)]

    def visible_blocks(self) -> list[tuple[str, str]]:
        """(source, name) of the blocks the Blocks section shows."""
        return [key for key, item in self._block_items.items() if not item.isHidden()]

    def block_mime_data(self, source: str, name: str) -> QMimeData:
        """The drag payload the palette produces for a block."""
        return self.tree.mimeData([self._block_items[(source, name)]])

    def item_for(self, type_id: str) -> QTreeWidgetItem:
        """The tree item of a layer type (for tests and keyboard navigation)."""
        return self._items[type_id]

    def visible_type_ids(self) -> list[str]:
        """Layer type ids that pass the current search, in display order."""
        return [tid for tid, item in self._items.items() if not item.isHidden()]

    def mime_data_for(self, type_id: str) -> QMimeData:
        """The drag payload the palette produces for ``type_id``."""
        return self.tree.mimeData([self._items[type_id]])

    def _on_search_changed(self, text: str) -> None:
        words = text.lower().split()
        for head_index in range(self.tree.topLevelItemCount()):
            head = self.tree.topLevelItem(head_index)
            if head is None:
                continue
            shown = 0
            for i in range(head.childCount()):
                child = head.child(i)
                if child is None:
                    continue
                haystack = child.data(0, Qt.ItemDataRole.UserRole + 1)
                match = all(w in haystack for w in words)
                child.setHidden(not match)
                shown += match
            head.setHidden(shown == 0)
        best = self.best_match() if words else None
        if best is not None:
            self.tree.setCurrentItem(self._items[best])

    def best_match(self) -> str | None:
        """The visible layer Enter adds: an exact id or label first, then a label prefix."""
        text = self.search.text().strip().lower()
        visible = self.visible_type_ids()
        if not visible:
            return None

        def rank(type_id: str) -> tuple[bool, bool]:
            label = self._items[type_id].text(0).lower()
            return (text not in (type_id, label), not label.startswith(text))

        return min(visible, key=rank)  # min is stable: ties keep the palette order

    def _on_search_return(self) -> None:
        type_id = self.best_match()
        if type_id is not None:
            self.layer_activated.emit(type_id)

    def _on_tree_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        block = item.data(0, _BLOCK_ROLE)
        if block:
            self.block_activated.emit(*block)
            return
        type_id = item.data(0, _TYPE_ROLE)
        if type_id:
            self.layer_activated.emit(type_id)
