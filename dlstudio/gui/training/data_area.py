"""The Training panel's Data group: the data set (built-in, or a file or folder from the
browse menu), its options, its preview and fit problems (:class:`DataBox`), and the weights the
next run starts from."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QWidget,
)

from dlstudio.gui.folders import ask_open_file
from dlstudio.gui.theme import icon
from dlstudio.gui.training.data_box import DataBox
from dlstudio.gui.training.data_picker import install_source_menu
from dlstudio.gui.training.options_text import format_options, parse_options
from dlstudio.train import TrainError, list_datasets

FILE_ITEM = "__file__"
"""The data of the data-set list's last entry, "File or folder…" (it opens the browse menu)."""
WEIGHTS_FILTER = "Weights (*.safetensors *.pt *.pth);;All files (*)"


class DataArea(QGroupBox):
    """The data set, its options and preview, and the start weights (the panel binds them to
    the document)."""

    source_chosen = Signal(str)
    """A data file or folder the user picked from the browse menu."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Data", parent)
        form = QFormLayout(self)
        row = QHBoxLayout()
        self.dataset_combo = QComboBox(self)
        for info in list_datasets():
            self.dataset_combo.addItem(info.name, info.name)
            index = self.dataset_combo.count() - 1
            self.dataset_combo.setItemData(index, info.description, Qt.ItemDataRole.ToolTipRole)
        self.dataset_combo.addItem("File or folder…", FILE_ITEM)
        self.browse_button = QToolButton(self)
        self.browse_button.setIcon(icon("open"))
        self.browse_button.setToolTip("Train on a file: CSV, NumPy, MNIST IDX or an image folder")
        self.browse_file_action, self.browse_folder_action = install_source_menu(
            self.browse_button, self.source_chosen.emit
        )
        row.addWidget(self.dataset_combo, 1)
        row.addWidget(self.browse_button)
        form.addRow("Data set", row)
        self.dataset_description = QLabel(self)
        self.dataset_description.setProperty("role", "dim")
        self.dataset_description.setWordWrap(True)
        form.addRow("", self.dataset_description)
        self.options_edit = QLineEdit(self)
        self.options_edit.setPlaceholderText("e.g. resize=28, flatten=true")
        form.addRow("Options", self.options_edit)
        self.data_box = DataBox(self)
        form.addRow(self.data_box)
        start = QHBoxLayout()
        self.init_weights: Path | None = None
        """Weights the next run starts from (None: drawn from the seed)."""
        self.init_weights_label = QLabel(self)
        self.init_weights_label.setProperty("role", "dim")
        self.init_weights_button = QPushButton("Start from weights…", self)
        self.init_weights_button.setToolTip(
            "Start the next run from saved weights (.safetensors or .pt), matched by layer name "
            "and shape; layers that do not match keep their seeded initial values"
        )
        self.init_weights_clear = QToolButton(self)
        self.init_weights_clear.setText("✕")
        self.init_weights_clear.setToolTip("Start from the seed's random weights again")
        # The file name on its own (wrapping) line: a long name must not widen the panel.
        self.init_weights_label.setWordWrap(True)
        start.addWidget(self.init_weights_button)
        start.addWidget(self.init_weights_clear)
        start.addStretch(1)
        form.addRow("Weights", self.init_weights_label)
        form.addRow("", start)
        self.set_init_weights(None)

        self.init_weights_button.clicked.connect(self._on_init_weights_clicked)
        self.init_weights_clear.clicked.connect(lambda: self.set_init_weights(None))

    def dataset(self) -> str:
        """The chosen data set (a built-in name or a path; "" while "File or folder…" is)."""
        data = self.dataset_combo.currentData()
        return data if isinstance(data, str) and data != FILE_ITEM else ""

    def set_file_item(self, path: str) -> None:
        """Show the data file or folder ``path`` in the list (added once) and choose it."""
        index = self.dataset_combo.findData(path)
        if index < 0:
            self.dataset_combo.insertItem(self.dataset_combo.count() - 1, path, path)
            index = self.dataset_combo.count() - 2
            self.dataset_combo.setItemData(index, path, Qt.ItemDataRole.ToolTipRole)
        self.dataset_combo.setCurrentIndex(index)

    def describe_dataset(self) -> None:
        """Show the chosen data set's description, and preview it."""
        text = self.dataset_combo.currentData(Qt.ItemDataRole.ToolTipRole) or ""
        self.dataset_description.setText(text)
        self.data_box.set_dataset(self.dataset())

    def keep_known_options(self) -> None:
        """Another built-in data set: drop the options it does not understand (shapes' size
        means nothing to cifar10)."""
        info = next((i for i in list_datasets() if i.name == self.dataset()), None)
        if info is None:
            return
        known = {part.split()[0] for part in info.options.split(",") if part.strip()}
        try:
            options = parse_options(self.options_edit.text())
        except TrainError:
            return
        self.options_edit.setText(format_options({k: v for k, v in options.items() if k in known}))

    def set_init_weights(self, path: str | Path | None) -> None:
        """Start the next runs from ``path`` (None: from the seed's random weights)."""
        self.init_weights = Path(path) if path else None
        self.init_weights_label.setText(
            self.init_weights.name if self.init_weights else "random, from the seed"
        )
        self.init_weights_label.setToolTip(str(self.init_weights or ""))
        self.init_weights_clear.setEnabled(self.init_weights is not None)

    def _on_init_weights_clicked(self) -> None:
        path = ask_open_file(self, "Start from weights", WEIGHTS_FILTER)
        if path:
            self.set_init_weights(path)
