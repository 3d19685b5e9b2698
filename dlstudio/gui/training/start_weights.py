"""File > Load Weights into Model: check a weights file against the drawing and start the next
runs from it (the same as the Training panel's "Start from weights…", with the report first)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox

from dlstudio.compile.weights import WeightsReport, load_weights
from dlstudio.core import DLStudioError
from dlstudio.gui.folders import ask_open_file

if TYPE_CHECKING:
    from dlstudio.gui.training.controller import TrainingController

WEIGHTS_FILTER = "Weights (*.safetensors *.pt *.pth);;All files (*)"


def check_weights(controller: TrainingController, path: Path) -> WeightsReport:
    """How ``path`` fits the current drawing (loaded into a throwaway copy of the model, as the
    run will); raises DLStudioError when the file is unreadable or nothing matches."""
    from dlstudio.compile import compile_graph

    return load_weights(compile_graph(controller.document.graph).module, path)


def load_weights_into_model(
    controller: TrainingController, path: str | Path | None = None
) -> WeightsReport | None:
    """Ask for a weights file (unless given), report how it matches, and make the Training
    panel start from it. None when cancelled or refused (the reason is shown)."""
    panel = controller.panel
    if path is None:
        chosen = ask_open_file(panel, "Load weights into the model", WEIGHTS_FILTER)
        if not chosen:
            return None
        path = chosen
    path = Path(path)
    if controller.document.analysis.has_errors:
        QMessageBox.warning(
            panel, "Cannot load weights", "Fix the problems in the Problems panel first."
        )
        return None
    try:
        report = check_weights(controller, path)
    except DLStudioError as exc:
        QMessageBox.warning(panel, "Cannot load weights", str(exc))
        return None
    panel.set_init_weights(path)
    controller.monitor.append_log(f"Next runs start from {report.summary()}")
    QMessageBox.information(
        panel,
        "Weights loaded",
        f"Training starts from these weights.\n\n{report.summary()}",
    )
    return report
