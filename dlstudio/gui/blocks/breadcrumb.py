"""``BreadcrumbBar``: where the canvas is in the tree (``model › layer2 › BasicBlock``), with Back.

Clicking the model goes to the top graph, an instance's name goes to the graph holding it (and
selects it), a definition's name opens that level."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from dlstudio.gui.blocks.level import DocumentLevel


class BreadcrumbBar(QWidget):
    """The path of opened blocks above the canvas; hidden while the top graph is shown."""

    instance_selected = Signal(str)
    """An instance's crumb was clicked: the canvas went up to its graph; select this id."""

    def __init__(self, level: DocumentLevel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("breadcrumb_bar")
        self.level = level
        self.back_button = QToolButton(self)
        self.back_button.setObjectName("breadcrumb_back")
        self.back_button.setText("◀ Back")
        self.back_button.setToolTip("Back to the graph around this block (Esc)")
        self.back_button.setAutoRaise(True)
        self.back_button.clicked.connect(self._on_back_clicked)
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(6, 3, 6, 3)
        self._row.setSpacing(2)
        self._row.addWidget(self.back_button)
        self._crumbs: list[QToolButton] = []
        self._separators: list[QLabel] = []
        self._hint = QLabel("Editing a block: changes apply to every instance", self)
        self._hint.setProperty("role", "dim")
        self._row.addStretch(1)
        self._row.addWidget(self._hint)
        level.level_changed.connect(self.refresh)
        self.refresh()

    def crumbs(self) -> list[str]:
        """The texts shown, from the model down (``["model", "layer2", "BasicBlock"]``)."""
        return [b.text() for b in self._crumbs]

    def crumb_button(self, index: int) -> QToolButton:
        """The button of crumb ``index`` (for tests and keyboard users)."""
        return self._crumbs[index]

    def refresh(self) -> None:
        """Redraw from the level's path."""
        for widget in (*self._crumbs, *self._separators):
            self._row.removeWidget(widget)
            widget.hide()  # deleted later: until then it must not show where it stood
            widget.deleteLater()
        self._crumbs, self._separators = [], []
        entries: list[tuple[str, object]] = [(self.level.root.name or "model", ("top",))]
        for depth, lv in enumerate(self.level.levels):
            entries.append((lv.instance_name, ("instance", depth, lv.instance_id)))
            entries.append((lv.definition, ("level", depth + 1)))
        position = 1
        for k, (text, target) in enumerate(entries):
            if k:
                separator = QLabel("›", self)
                separator.setProperty("role", "dim")
                self._separators.append(separator)
                self._row.insertWidget(position, separator)
                position += 1
            button = QToolButton(self)
            button.setObjectName(f"crumb_{k}")
            button.setText(text)
            button.setAutoRaise(True)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            last = k == len(entries) - 1
            if last:
                font = button.font()
                font.setBold(True)
                button.setFont(font)
            button.clicked.connect(lambda _=False, t=target: self._on_crumb_clicked(t))
            self._crumbs.append(button)
            self._row.insertWidget(position, button)
            position += 1
        self.setVisible(bool(self.level.levels))

    def _on_crumb_clicked(self, target: tuple) -> None:
        kind = target[0]
        if kind == "top":
            self.level.go_top()
        elif kind == "instance":
            _, depth, instance_id = target
            self.level.go_up(depth)
            self.instance_selected.emit(instance_id)
        else:
            self.level.go_up(target[1])

    def _on_back_clicked(self) -> None:
        self.level.go_up()
