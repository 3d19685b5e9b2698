"""File > Import Model…: what to import (a .py file, an .onnx file or a callable path) and, for
PyTorch models, the shape of one input sample."""

from __future__ import annotations

from itertools import pairwise

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from dlstudio.gui.folders import ask_open_file

MODEL_FILTER = "Models (*.py *.onnx);;Python (*.py);;ONNX (*.onnx)"


class ImportModelDialog(QDialog):
    """Source and input shape; ``source()`` and ``input_shape()`` read them after ``exec``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import Model")
        self.source_edit = QLineEdit()
        self.source_edit.setPlaceholderText(
            "model.py:Net, model.onnx or torchvision.models:resnet18"
        )
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse_clicked)
        row = QHBoxLayout()
        row.addWidget(self.source_edit, 1)
        row.addWidget(browse)
        self.shape_edit = QLineEdit()
        self.shape_edit.setPlaceholderText("e.g. 1,28,28 (empty: guess from the first layer)")
        form = QFormLayout(self)
        form.addRow("Model", row)
        form.addRow("Input shape", self.shape_edit)
        note = QLabel(
            "PyTorch models are traced with torch.fx; a .py file runs as Python does. Layers "
            "DL Studio lacks become Placeholder nodes, listed in the Problems panel."
        )
        note.setWordWrap(True)
        form.addRow(note)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        # Tab goes from field to field, as one fills in a form: Model, Input shape, OK,
        # Cancel; Browse… comes last (it opens a dialog, and typing the path is the usual way).
        chain = (
            self.source_edit,
            self.shape_edit,
            buttons.button(QDialogButtonBox.StandardButton.Ok),
            buttons.button(QDialogButtonBox.StandardButton.Cancel),
            browse,
        )
        for first, second in pairwise(chain):
            QWidget.setTabOrder(first, second)
        self.browse_button = browse
        self.resize(560, self.sizeHint().height())

    def _on_browse_clicked(self) -> None:
        path = ask_open_file(self, "Import model", MODEL_FILTER)
        if path:
            self.source_edit.setText(path)

    def source(self) -> str:
        """What to import."""
        return self.source_edit.text().strip()

    def input_shape(self) -> str:
        """The input shape as typed (empty: guess)."""
        return self.shape_edit.text().strip()
