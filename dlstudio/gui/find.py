"""Edit > Find (Ctrl+F): find layers by name, layer type or output shape, across blocks.

A bar above the canvas: type a name (``conv``), a type (``BatchNorm``) or a shape
(``N, 512`` matches ``(N, 512)`` and ``(N, 512, 7, 7)``); Enter or F3 goes to the next match,
Shift+Enter or Shift+F3 to the previous one, opening the blocks on the way; Esc closes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QBoxLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QToolButton,
    QWidget,
)

from dlstudio.analysis.tree import summary_rows

if TYPE_CHECKING:
    from dlstudio.gui.main_window import MainWindow


@dataclass(frozen=True)
class FindMatch:
    """One layer that matches: where it is and how it is shown."""

    location: tuple[str, ...]
    """Node ids from the top graph down to the layer."""
    path: str
    """Its module path (``layer2.0.conv1``)."""
    type_label: str
    shape: str


def _squeeze(text: str) -> str:
    """Lower case without spaces or brackets: ``(N, 512)`` and ``n,512`` compare equal."""
    return re.sub(r"[\s()\[\]]", "", text.lower())


def find_layers(window: MainWindow, query: str) -> list[FindMatch]:
    """The layers of the whole model (inside blocks too, each once) whose name, path, type or
    output shape contains ``query``, in execution order."""
    wanted = _squeeze(query)
    if not wanted:
        return []
    matches: list[FindMatch] = []
    seen: set[tuple[str, ...]] = set()
    document = window.document
    for row in summary_rows(document.graph, document.analysis):
        if row.node is None or row.location in seen:
            continue  # the row of one copy of a repeating block, or a later copy's insides
        seen.add(row.location)
        shape = "  ".join(str(s) for s in row.outputs)
        fields = (row.name, row.path, row.type_label, row.type_id, shape)
        if any(wanted in _squeeze(field) for field in fields):
            matches.append(FindMatch(row.location, row.path, row.type_label, shape))
    return matches


class FindBar(QWidget):
    """The find bar above the canvas; hidden until Ctrl+F."""

    def __init__(self, window: MainWindow, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("find_bar")
        self.window_ = window
        self.matches: list[FindMatch] = []
        self.current = -1
        """Index of the match shown (-1: none yet)."""
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 3, 6, 3)
        row.setSpacing(4)
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText('Find a layer: name, type or shape ("N, 512")')
        self.edit.setClearButtonEnabled(True)
        self.count_label = QLabel(self)
        self.count_label.setProperty("role", "dim")
        self.count_label.setMinimumWidth(90)
        self.previous_button = QToolButton(self)
        self.previous_button.setText("▲")
        self.previous_button.setToolTip("Previous match (Shift+Enter, Shift+F3)")
        self.next_button = QToolButton(self)
        self.next_button.setText("▼")
        self.next_button.setToolTip("Next match (Enter, F3)")
        close = QToolButton(self)
        close.setText("✕")
        close.setToolTip("Close (Esc)")
        row.addWidget(self.edit, 1)
        row.addWidget(self.count_label)
        row.addWidget(self.previous_button)
        row.addWidget(self.next_button)
        row.addWidget(close)
        self.edit.textChanged.connect(self._on_text_changed)
        self.edit.installEventFilter(self)
        self.previous_button.clicked.connect(self.find_previous)
        self.next_button.clicked.connect(self.find_next)
        close.clicked.connect(self.close_bar)
        window.document.analysis_ready.connect(self._on_analysis_ready)
        self.hide()

    # ------------------------------------------------------------- commands
    def open_bar(self) -> None:
        """Show the bar with its text selected, ready to type."""
        self.show()
        self.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.edit.selectAll()

    def close_bar(self) -> None:
        """Hide the bar and give the keyboard back to the canvas."""
        self.hide()
        self.window_.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def find_next(self) -> FindMatch | None:
        """Go to the next match (the first after the last); None when nothing matches."""
        return self._step(1)

    def find_previous(self) -> FindMatch | None:
        """Go to the previous match (the last before the first)."""
        return self._step(-1)

    # -------------------------------------------------------------- helpers
    def _step(self, direction: int) -> FindMatch | None:
        if not self.isVisible():
            self.open_bar()
        if not self.matches:
            self._refresh()
        if not self.matches:
            return None
        self.current = (self.current + direction) % len(self.matches)
        match = self.matches[self.current]
        self._show_count()
        self.window_.blocks_ui.focus_location(match.location)
        return match

    def _refresh(self) -> None:
        self.matches = find_layers(self.window_, self.edit.text())
        self.current = -1
        self._show_count()

    def _show_count(self) -> None:
        text = self.edit.text().strip()
        if not text:
            self.count_label.setText("")
        elif not self.matches:
            self.count_label.setText("no match")
        elif self.current < 0:
            self.count_label.setText(f"{len(self.matches)} found")
        else:
            match = self.matches[self.current]
            self.count_label.setText(f"{self.current + 1} of {len(self.matches)}")
            self.count_label.setToolTip(f"{match.path} · {match.type_label} · {match.shape}")
        self.previous_button.setEnabled(bool(self.matches))
        self.next_button.setEnabled(bool(self.matches))

    def _on_text_changed(self, _text: str) -> None:
        self._refresh()

    def _on_analysis_ready(self, _result: object) -> None:
        if self.isVisible() and self.edit.text().strip():
            current = self.matches[self.current].location if self.current >= 0 else None
            self.matches = find_layers(self.window_, self.edit.text())
            locations = [m.location for m in self.matches]
            self.current = locations.index(current) if current in locations else -1
            self._show_count()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.edit and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key, shift = event.key(), event.modifiers() & Qt.KeyboardModifier.ShiftModifier
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._step(-1 if shift else 1)
                return True
            if key == Qt.Key.Key_Escape:
                self.close_bar()
                return True
        return super().eventFilter(watched, event)


def install_find(window: MainWindow) -> FindBar:
    """Put the find bar above the canvas and Find / Find Next / Find Previous in Edit."""
    bar = FindBar(window, window.blocks_ui.canvas)
    column = window.blocks_ui.canvas.layout()
    assert isinstance(column, QBoxLayout), "the canvas column is a box layout"
    column.insertWidget(1, bar)  # under the breadcrumb, above the canvas
    actions = []
    for name, text, keys, slot in (
        ("find", "&Find…", QKeySequence.StandardKey.Find, bar.open_bar),
        # F3 only: the platform's other Find Next key (Ctrl+G) groups layers into a block here.
        ("find_next", "Find &Next", "F3", bar.find_next),
        ("find_previous", "Find Pre&vious", "Shift+F3", bar.find_previous),
    ):
        action = QAction(text, window)
        action.setObjectName(f"action_{name}")
        action.setShortcut(QKeySequence(keys))
        action.setToolTip("Find layers by name, type or output shape, inside blocks too")
        action.triggered.connect(lambda _checked=False, s=slot: s())
        window.action_registry.by_name[name] = action
        actions.append(action)
    menus = [a.menu() for a in window.menuBar().actions()]
    edit = next(
        (m for m in menus if isinstance(m, QMenu) and m.title().replace("&", "") == "Edit"),
        None,
    )
    if isinstance(edit, QMenu):
        edit.addSeparator()
        edit.addActions(actions)
    else:
        window.addActions(actions)
    return bar
