"""New from template: a gallery of the bundled templates, grouped by category, each with a
picture of its graph, its title and description."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QIcon
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dlstudio.gui.dialogs.template_pictures import template_picture

TEMPLATES_DIR = Path(__file__).resolve().parents[3] / "templates"
"""The repository's ``templates/`` folder."""
ICON_SIZE = QSize(72, 48)
"""The small picture beside each template's title."""
PREVIEW_SIZE = QSize(420, 260)
"""The selected template's picture."""


@dataclass(frozen=True)
class TemplateInfo:
    """A template file and the title/description from its metadata."""

    path: Path
    title: str
    description: str
    category: str


def list_templates(folder: Path = TEMPLATES_DIR) -> list[TemplateInfo]:
    """Every ``*.json`` template in ``folder``, by category then title; unreadable ones skipped
    (opening them later shows the loader's precise message)."""
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
        except (OSError, ValueError, AttributeError):
            meta = {}
        if not isinstance(meta, dict):
            meta = {}
        found.append(
            TemplateInfo(
                path,
                str(meta.get("title") or path.stem),
                str(meta.get("description") or ""),
                str(meta.get("category") or ""),
            )
        )
    return sorted(found, key=lambda t: (t.category, t.title.lower()))


class TemplateGallery(QDialog):
    """Pick a template; double-click or Open accepts, ``chosen_path`` says which."""

    def __init__(self, parent: QWidget | None = None, folder: Path = TEMPLATES_DIR) -> None:
        super().__init__(parent)
        self.setWindowTitle("New from Template")
        self.resize(900, 560)
        self.templates = list_templates(folder)
        self.list = QListWidget(self)
        self.list.setIconSize(ICON_SIZE)
        self.list.setMinimumWidth(300)
        self.list.setSpacing(1)
        self.list.setWordWrap(True)  # a long title takes two lines rather than an ellipsis
        self._rows: list[int] = []
        """The list row of each template (category headings take rows of their own)."""
        category = None
        for info in self.templates:
            if info.category != category:  # a heading: the category whole, on its own row
                category = info.category
                heading = QListWidgetItem(category or "Other")
                heading.setFlags(Qt.ItemFlag.NoItemFlags)
                font = QFont(heading.font())
                font.setBold(True)
                heading.setFont(font)
                heading.setForeground(QColor("#9aa0a8"))
                self.list.addItem(heading)
            item = QListWidgetItem(info.title)
            item.setData(Qt.ItemDataRole.UserRole, str(info.path))
            item.setToolTip(info.description)
            item.setSizeHint(QSize(0, ICON_SIZE.height() + 8))
            self._rows.append(self.list.count())
            self.list.addItem(item)
        self.picture = QLabel(self)
        self.picture.setObjectName("template_picture")
        self.picture.setFixedSize(PREVIEW_SIZE)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = QLabel(self)
        self.title.setProperty("role", "heading")
        self.description = QLabel(self)
        self.description.setWordWrap(True)
        self.description.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.file_label = QLabel(self)
        self.file_label.setProperty("role", "dim")
        detail = QVBoxLayout()
        detail.addWidget(self.picture)
        detail.addWidget(self.title)
        detail.addWidget(self.description, 1)
        detail.addWidget(self.file_label)
        row = QHBoxLayout()
        row.addWidget(self.list, 2)
        row.addLayout(detail, 3)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(buttons)
        self.list.currentRowChanged.connect(self._on_list_row_changed)
        self.list.itemDoubleClicked.connect(self._on_list_double_clicked)
        if self.templates:
            self.list.setCurrentRow(self._rows[0])
        # The small pictures are drawn one per event-loop turn: the gallery opens at once.
        self._pending = list(range(len(self.templates)))
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._draw_next_icon)
        self._timer.start()

    def _draw_next_icon(self) -> None:
        if not self._pending:
            self._timer.stop()
            return
        index = self._pending.pop(0)
        item = self.list.item(self._rows[index])
        item.setIcon(QIcon(template_picture(self.templates[index].path, ICON_SIZE)))

    def icons_drawn(self) -> bool:
        """True once every template's small picture is in the list."""
        return not self._pending

    @property
    def chosen_path(self) -> Path | None:
        """The selected template's file."""
        item = self.list.currentItem()
        return Path(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def select(self, stem: str) -> None:
        """Select the template whose file is ``<stem>.json``."""
        for index, info in enumerate(self.templates):
            if info.path.stem == stem:
                self.list.setCurrentRow(self._rows[index])

    def _on_list_row_changed(self, row: int) -> None:
        if row in self._rows:
            info = self.templates[self._rows.index(row)]
            self.title.setText(info.title)
            self.description.setText(info.description or "No description.")
            self.file_label.setText(info.path.name)
            self.picture.setPixmap(template_picture(info.path, PREVIEW_SIZE))

    def _on_list_double_clicked(self, _item: QListWidgetItem) -> None:
        self.accept()
