"""New from template: a gallery of the bundled templates with title and description."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSize, Qt
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

from dlstudio.gui.theme import icon

TEMPLATES_DIR = Path(__file__).resolve().parents[3] / "templates"
"""The repository's ``templates/`` folder."""


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
        self.resize(820, 520)
        self.templates = list_templates(folder)
        self.list = QListWidget(self)
        self.list.setIconSize(QSize(20, 20))
        self.list.setMinimumWidth(260)
        for info in self.templates:
            text = f"{info.title}" + (f"   ·  {info.category}" if info.category else "")
            item = QListWidgetItem(icon("template"), text)
            item.setData(Qt.ItemDataRole.UserRole, str(info.path))
            item.setToolTip(info.description)
            self.list.addItem(item)
        self.title = QLabel(self)
        self.title.setProperty("role", "heading")
        self.description = QLabel(self)
        self.description.setWordWrap(True)
        self.description.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.file_label = QLabel(self)
        self.file_label.setProperty("role", "dim")
        detail = QVBoxLayout()
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
            self.list.setCurrentRow(0)

    @property
    def chosen_path(self) -> Path | None:
        """The selected template's file."""
        item = self.list.currentItem()
        return Path(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def select(self, stem: str) -> None:
        """Select the template whose file is ``<stem>.json``."""
        for row, info in enumerate(self.templates):
            if info.path.stem == stem:
                self.list.setCurrentRow(row)

    def _on_list_row_changed(self, row: int) -> None:
        if 0 <= row < len(self.templates):
            info = self.templates[row]
            self.title.setText(info.title)
            self.description.setText(info.description or "No description.")
            self.file_label.setText(info.path.name)

    def _on_list_double_clicked(self, _item: QListWidgetItem) -> None:
        self.accept()
