"""The training panel's data tools: TensorBoard logging, a preview of augmented images, and
typed text classified by the last trained model.

The work (loading the data set, tokenizing, running the model) happens on a pool thread through
:func:`dlstudio.gui.workers.run_in_thread`; this module only shows what comes back. The same
functions serve ``python -m dlstudio predict`` (:mod:`dlstudio.train.predict`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dlstudio.core.errors import DLStudioError
from dlstudio.gui.workers import run_in_thread

TENSORBOARD_FOLDER = "tensorboard"
"""The sub-folder of a run folder that receives TensorBoard event files."""


@dataclass(frozen=True)
class DataContext:
    """What the tools need to know about the project: its metadata (training settings and
    tokenizer) and its file (relative paths start beside it; None when unsaved)."""

    metadata: dict[str, Any]
    project_path: Path | None


def load_training_data(context: DataContext) -> Any:
    """The project's training data set, loaded as a run would load it."""
    from dlstudio.train.data.hf_tokenizer import project_tokenizer_folder
    from dlstudio.train.session import resolve_run

    base = context.project_path.resolve().parent if context.project_path else None
    _config, dataset = resolve_run(
        context.metadata.get("training"),
        base_dir=base,
        tokenizer=project_tokenizer_folder(context.metadata, context.project_path),
    )
    return dataset


def augmented_preview(context: DataContext, count: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    """(originals, augmented) images in 0..1 for the preview (runs on a pool thread)."""
    from dlstudio.train.data.augment import preview

    dataset = load_training_data(context)
    return preview(dataset, count=count, seed=int(dataset.options.get("seed", 0) or 0))


def classify_text(
    context: DataContext, module: torch.nn.Module, graph: Any, text: str
) -> list[Any]:
    """The trained model's classes for ``text``, most likely first (runs on a pool thread)."""
    from dlstudio.compile import compile_graph
    from dlstudio.train.data.hf_tokenizer import load_project_tokenizer
    from dlstudio.train.predict import TextEncoder, fixed_lengths, predict_text

    compiled = compile_graph(graph)
    compiled.module.load_state_dict(module.state_dict())
    dataset = load_training_data(context)
    tokenizer = load_project_tokenizer(context.metadata, context.project_path)
    encoder = TextEncoder.for_dataset(tokenizer, dataset)
    return predict_text(
        compiled.module,
        compiled.input_names,
        fixed_lengths(compiled.input_specs),
        encoder,
        text,
        dataset.class_names,
    )


def _pixmap(image: torch.Tensor, side: int = 96) -> QPixmap:
    """A (C, H, W) image in 0..1 as a pixmap ``side`` pixels wide."""
    pixels = (image.clamp(0, 1) * 255).round().to(torch.uint8)
    if pixels.shape[0] == 1:
        pixels = pixels.expand(3, -1, -1)
    array = pixels[:3].permute(1, 2, 0).contiguous().numpy()
    height, width = array.shape[:2]
    qimage = QImage(array.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(qimage).scaledToWidth(side, Qt.TransformationMode.FastTransformation)


class AugmentPreviewDialog(QDialog):
    """Originals on the top row, the same images as training will see them below."""

    def __init__(
        self, originals: torch.Tensor, augmented: torch.Tensor, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.setWindowTitle("Augmentation preview")
        layout = QVBoxLayout(self)
        grid = QGridLayout()
        grid.addWidget(QLabel("Original", self), 0, 0)
        grid.addWidget(QLabel("Augmented", self), 1, 0)
        self.images: list[QLabel] = []
        for column, (first, second) in enumerate(zip(originals, augmented, strict=True), start=1):
            for row, image in ((0, first), (1, second)):
                label = QLabel(self)
                label.setPixmap(_pixmap(image))
                grid.addWidget(label, row, column)
                self.images.append(label)
        layout.addLayout(grid)
        note = QLabel(
            "Each training batch draws new crops and flips; validation images are never changed.",
            self,
        )
        note.setProperty("role", "dim")
        note.setWordWrap(True)
        layout.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


class DataToolsBox(QGroupBox):
    """TensorBoard checkbox, augmentation preview button, and a typed-text prediction row."""

    prediction_finished = Signal(str)
    """The text shown under the prediction row (the classes, or what went wrong)."""
    preview_finished = Signal(object)
    """The preview dialog once shown (or None when the preview failed)."""

    def __init__(self, context: Callable[[], DataContext], parent: QWidget | None = None) -> None:
        super().__init__("Data tools", parent)
        self._context = context
        self._run: tuple[torch.nn.Module, Any] | None = None
        layout = QVBoxLayout(self)
        self.tensorboard_check = QCheckBox("Write TensorBoard logs", self)
        self.tensorboard_check.setToolTip(
            "Scalars per step and per epoch, the hyper-parameters and the model graph, in the run "
            f"folder's {TENSORBOARD_FOLDER}/ sub-folder (view with tensorboard --logdir FOLDER)"
        )
        layout.addWidget(self.tensorboard_check)
        self.preview_button = QPushButton("Preview augmentation…", self)
        self.preview_button.setToolTip(
            "Show a few training images before and after the data set's crop and flip options"
        )
        layout.addWidget(self.preview_button)
        row = QHBoxLayout()
        self.text_edit = QLineEdit(self)
        self.text_edit.setPlaceholderText("Type a sentence to classify")
        self.predict_button = QPushButton("Predict", self)
        self.predict_button.setEnabled(False)
        self.predict_button.setToolTip("Classify the text with the last trained model")
        row.addWidget(self.text_edit, 1)
        row.addWidget(self.predict_button)
        layout.addLayout(row)
        self.prediction_label = QLabel(self)
        self.prediction_label.setProperty("role", "dim")
        self.prediction_label.setWordWrap(True)
        layout.addWidget(self.prediction_label)
        self.preview_button.clicked.connect(self._on_preview_clicked)
        self.predict_button.clicked.connect(self._on_predict_clicked)
        self.text_edit.returnPressed.connect(self._on_predict_clicked)

    def tensorboard_dir(self, run_folder: Path) -> Path | None:
        """Where the next run writes TensorBoard files (None: the box is unchecked)."""
        return run_folder / TENSORBOARD_FOLDER if self.tensorboard_check.isChecked() else None

    def set_trained(self, module: torch.nn.Module | None, graph: Any) -> None:
        """The model typed text goes to: the last run's trained module and its graph snapshot."""
        self._run = (module, graph) if module is not None else None
        self.predict_button.setEnabled(self._run is not None)

    def _on_predict_clicked(self) -> None:
        text = self.text_edit.text()
        if self._run is None or not self.predict_button.isEnabled():
            return
        module, graph = self._run
        try:
            context = self._context()
        except DLStudioError as exc:  # e.g. options that do not parse
            self._show_prediction(f"Cannot classify: {exc}")
            return
        self.predict_button.setEnabled(False)
        self.prediction_label.setText("Classifying…")
        run_in_thread(
            lambda: classify_text(context, module, graph, text),
            self._on_prediction_done,
            self._on_prediction_error,
        )

    def _on_prediction_done(self, scores: list[Any]) -> None:
        shown = ", ".join(f"{s.name} {s.probability:.1%}" for s in scores[:3])
        self._show_prediction(shown)

    def _on_prediction_error(self, exc: BaseException, _details: str) -> None:
        message = str(exc) if isinstance(exc, DLStudioError) else f"{type(exc).__name__}: {exc}"
        self._show_prediction(f"Cannot classify: {message}")

    def _show_prediction(self, text: str) -> None:
        self.prediction_label.setText(text)
        self.predict_button.setEnabled(self._run is not None)
        self.prediction_finished.emit(text)

    def _on_preview_clicked(self) -> None:
        try:
            context = self._context()
        except DLStudioError as exc:
            self._on_preview_error(exc, "")
            return
        self.preview_button.setEnabled(False)
        run_in_thread(
            lambda: augmented_preview(context), self._on_preview_done, self._on_preview_error
        )

    def _on_preview_done(self, images: tuple[torch.Tensor, torch.Tensor]) -> None:
        self.preview_button.setEnabled(True)
        dialog = AugmentPreviewDialog(images[0], images[1], self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.preview_finished.emit(dialog)

    def _on_preview_error(self, exc: BaseException, _details: str) -> None:
        self.preview_button.setEnabled(True)
        message = str(exc) if isinstance(exc, DLStudioError) else f"{type(exc).__name__}: {exc}"
        self.prediction_label.setText(f"Cannot preview: {message}")
        self.preview_finished.emit(None)
