"""Explain a prediction: the saliency of one example drawn over it, with the classes named."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import shiboken6
from PySide6.QtWidgets import QComboBox, QDialog, QHBoxLayout, QLabel, QVBoxLayout, QWidget
from torch.nn import Conv2d

from dlstudio.core.errors import DLStudioError
from dlstudio.gui.lens.pixmaps import to_pixmap
from dlstudio.gui.workers import run_in_thread
from dlstudio.lens import render
from dlstudio.lens.examples import Example
from dlstudio.lens.explain import Explanation, explain

IMAGE_CHOICES = {
    "gradcam": "Grad-CAM",
    "saliency": "Gradient saliency",
    "ig": "Integrated gradients",
}
VECTOR_CHOICES = {
    "saliency": "Gradient saliency",
    "ig": "Integrated gradients",
}
TOKEN_CHOICES = {
    "gradxinput": "Gradient x input per token",
    "rollout": "Attention rollout",
    "saliency": "Gradient size per token",
}


class ExplainDialog(QDialog):
    """One sample of a trained model: the map of the chosen method, computed on a worker."""

    def __init__(
        self,
        graph: Any,
        module: Any,
        sample: Any,
        class_names: list[str],
        tokens: tuple[str, ...] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Explain a prediction")
        self.project = SimpleNamespace(graph=graph, compiled=SimpleNamespace(module=module))
        self.example = Example(sample.inputs, "this sample", sample.target_index, tokens)
        self.class_names = class_names
        self.explanation: Explanation | None = None
        self.task = None
        first = sample.inputs[0]
        if not first.is_floating_point():
            choices = TOKEN_CHOICES
        elif first.dim() == 4 and any(isinstance(m, Conv2d) for m in module.modules()):
            choices = IMAGE_CHOICES
        else:
            choices = VECTOR_CHOICES
        self.method = QComboBox()
        for key, label in choices.items():
            self.method.addItem(label, key)
        self.layer = QComboBox()
        """Grad-CAM's convolution: the last one the model runs, or one picked by its path."""
        self.layer.setToolTip("The 2-D convolution whose feature maps Grad-CAM weighs")
        self.layer.addItem("the last convolution", None)
        for path, sub in module.named_modules():
            if isinstance(sub, Conv2d):
                self.layer.addItem(path, path)
        self.caption = QLabel("Computing…")
        self.caption.setWordWrap(True)
        self.picture = QLabel()
        top = QHBoxLayout()
        top.addWidget(QLabel("Method"))
        top.addWidget(self.method, 1)
        self.layer_label = QLabel("on")
        top.addWidget(self.layer_label)
        top.addWidget(self.layer, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.caption)
        layout.addWidget(self.picture, 1)
        self.method.currentIndexChanged.connect(self.compute)
        self.layer.currentIndexChanged.connect(self.compute)
        self.compute()

    def _name(self, index: int | None) -> str:
        if index is None:
            return "unknown"
        return self.class_names[index] if 0 <= index < len(self.class_names) else str(index)

    def compute(self):
        """Start the chosen method on a worker; returns the task handle."""
        method = str(self.method.currentData())
        self.layer.setVisible(method == "gradcam")
        self.layer_label.setVisible(method == "gradcam")
        layer = self.layer.currentData() if method == "gradcam" else None
        self.caption.setText("Computing…")
        project, example = self.project, self.example
        self.task = run_in_thread(
            lambda: explain(project, example, method, layer=layer),
            lambda result: self._on_done(result, layer),
            self._on_failed,
        )
        return self.task

    def _on_done(self, result: Explanation, layer: str | None = None) -> None:
        if not shiboken6.isValid(self) or result.method != self.method.currentData():
            return
        if result.method == "gradcam" and layer != self.layer.currentData():
            return  # an answer for the convolution picked before
        self.explanation = result
        x = self.example.inputs[0][0]
        if x.is_floating_point() and x.dim() == 3:
            picture = render.overlay(render.image(x.float().numpy(), 320), result.heat)
        elif x.is_floating_point():  # features: each labelled with its value
            values = x.flatten().tolist()
            labels = tuple(f"x{i} = {v:.3g}" for i, v in enumerate(values))
            picture = render.token_heat(labels, result.heat.ravel())
        else:
            tokens = self.example.tokens or tuple(str(i) for i in x.tolist())
            picture = render.token_heat(tokens, result.heat)
        self.picture.setPixmap(to_pixmap(picture))
        p = result.probabilities[result.predicted]
        self.caption.setText(
            f"Predicted <b>{self._name(result.predicted)}</b> (p = {p:.2f}), true "
            f"<b>{self._name(self.example.target)}</b>"
            + (f"; Grad-CAM on {result.layer}" if result.layer else "")
        )

    def _on_failed(self, error: BaseException, _trace: str) -> None:
        if not shiboken6.isValid(self):
            return
        if isinstance(error, DLStudioError):
            self.caption.setText(str(error))
        else:
            self.caption.setText(f"Could not explain this sample: {type(error).__name__}: {error}")
