"""File > Import Model…: what to import (a .py file, an .onnx file, a callable path or a Hugging
Face folder) and, for PyTorch models, the shape of one input sample. For ``hf:`` sources the
dialog also offers the head to load (the command line's ``--task``) and, for a classification
head, the number of labels (``--num-labels``), as ``from_pretrained(..., num_labels=2)`` does."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from dlstudio.gui.folders import ask_open_file

MODEL_FILTER = (
    "Models (*.py *.onnx config.json);;Python (*.py);;ONNX (*.onnx);;"
    "Hugging Face folder (config.json)"
)
HF_PREFIX = "hf:"
MIN_WIDTH = 560
TASK_LABELS = (
    ("base", "Base model (hidden states out)"),
    ("sequence-classification", "Sequence classification (a new head of N labels)"),
    ("causal-lm", "Causal language model (next-token scores)"),
)
"""The heads ``hf:`` sources can load, as the command line's ``--task`` names them."""


class ImportModelDialog(QDialog):
    """Source and input shape (and, for ``hf:`` sources, the head and its labels); ``source()``,
    ``input_shape()``, ``task()`` and ``num_labels()`` read them after ``exec``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import Model")
        self.source_edit = QLineEdit()
        self.source_edit.setPlaceholderText(
            "model.py:Net, model.onnx, torchvision.models:resnet18 or hf:FOLDER"
        )
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse_clicked)
        row = QHBoxLayout()
        row.addWidget(self.source_edit, 1)
        row.addWidget(browse)
        self.shape_edit = QLineEdit()
        self.shape_edit.setPlaceholderText("e.g. 1,28,28 (empty: guess from the first layer)")
        self.task_combo = QComboBox()
        for task, label in TASK_LABELS:
            self.task_combo.addItem(label, task)
        self.task_combo.setToolTip(
            "The head transformers loads on the model (AutoModel, "
            "AutoModelForSequenceClassification or AutoModelForCausalLM)"
        )
        self.labels_spin = QSpinBox()
        self.labels_spin.setRange(2, 100_000)
        self.labels_spin.setValue(2)
        self.labels_spin.setMaximumWidth(120)  # a count, not a sentence
        self.labels_spin.setToolTip(
            "Classes of the new classification head (from_pretrained's num_labels); its "
            "weights start random and are learnt in training"
        )
        form = QFormLayout(self)
        form.addRow("Model", row)
        form.addRow("Input shape", self.shape_edit)
        form.addRow("Head", self.task_combo)
        form.addRow("Labels", self.labels_spin)
        self.form = form
        note = QLabel(
            "PyTorch models are traced with torch.fx; a .py file runs as Python does. "
            "hf:FOLDER reads a folder written by save_pretrained, with its tokenizer. Layers "
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
        # Tab goes from field to field, as one fills in a form: Model, Input shape, (Head,
        # Labels,) OK, Cancel; Browse… comes last (it opens a dialog, and typing the path is
        # the usual way). Hidden fields are skipped by Qt.
        chain = (
            self.source_edit,
            self.shape_edit,
            self.task_combo,
            self.labels_spin,
            buttons.button(QDialogButtonBox.StandardButton.Ok),
            buttons.button(QDialogButtonBox.StandardButton.Cancel),
            browse,
        )
        for first, second in pairwise(chain):
            QWidget.setTabOrder(first, second)
        self.browse_button = browse
        self.source_edit.textChanged.connect(self._update_rows)
        self.task_combo.currentIndexChanged.connect(self._update_rows)
        self.resize(MIN_WIDTH, self.height())
        self._update_rows()

    def _update_rows(self) -> None:
        """Show the head for ``hf:`` sources only, and the labels for a classification head."""
        hf = self.is_hf()
        self.form.setRowVisible(self.task_combo, hf)
        self.form.setRowVisible(self.labels_spin, hf and self.task() == "sequence-classification")
        self.shape_edit.setPlaceholderText(
            "empty: the inputs the model's config names"
            if hf
            else "e.g. 1,28,28 (empty: guess from the first layer)"
        )
        # Fit the height to the rows now shown at the width the dialog has; the note wraps, so
        # the smallest size is set at the narrowest width, else a dragged edge would clip it.
        self.form.activate()
        self.setMinimumSize(MIN_WIDTH, self.heightForWidth(MIN_WIDTH))
        width = max(self.width(), MIN_WIDTH)
        self.resize(width, self.heightForWidth(width))

    def _on_browse_clicked(self) -> None:
        path = ask_open_file(self, "Import model", MODEL_FILTER)
        if not path:
            return
        if Path(path).name == "config.json":  # a save_pretrained folder: import the folder
            path = HF_PREFIX + str(Path(path).parent)
        self.source_edit.setText(path)

    def source(self) -> str:
        """What to import."""
        return self.source_edit.text().strip()

    def is_hf(self) -> bool:
        """True when the source is a Hugging Face folder or hub id (``hf:...``)."""
        return self.source().startswith(HF_PREFIX)

    def input_shape(self) -> str:
        """The input shape as typed (empty: guess)."""
        return self.shape_edit.text().strip()

    def task(self) -> str:
        """The head for ``hf:`` sources, as ``--task`` names it; ``"base"`` for other sources."""
        return str(self.task_combo.currentData()) if self.is_hf() else "base"

    def num_labels(self) -> int:
        """Classes of the classification head; 0 (the model's own) without one."""
        return self.labels_spin.value() if self.task() == "sequence-classification" else 0
