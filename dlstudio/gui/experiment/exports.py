"""Export › Training Script… and Training Notebook…: the whole experiment of the model on
screen, written in a worker thread (it compiles the model and loads the data set once)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from dlstudio.gui.document import EMPTY_MODEL_TEXT, Document
from dlstudio.gui.folders import last_folder, remember_folder
from dlstudio.gui.workers import TaskHandle, run_in_thread


class ExperimentExports(QObject):
    """Writes ``train.py`` or a notebook for the document, as ``export --train-script`` and
    ``export --notebook`` do (same code)."""

    finished = Signal(str)
    """A one-line outcome for the status bar."""

    def __init__(self, document: Document, window: QWidget) -> None:
        super().__init__(window)
        self.document = document
        self.window = window
        self.embed_data = False
        """Write DL Studio's data loader into the file instead of importing it."""
        self.busy: TaskHandle | None = None
        self.last_error = ""

    def export_script(self, path: Path | None = None) -> TaskHandle | None:
        """Ask for a ``.py`` name (unless given) and write the training script."""
        return self._export("script", path, ".py", "Python files (*.py)")

    def export_notebook(self, path: Path | None = None) -> TaskHandle | None:
        """Ask for an ``.ipynb`` name (unless given) and write the training notebook."""
        return self._export("notebook", path, ".ipynb", "Jupyter notebooks (*.ipynb)")

    def _export(self, kind: str, path: Path | None, suffix: str, filters: str) -> TaskHandle | None:
        if self.document.is_empty:
            QMessageBox.information(self.window, "Nothing to export", EMPTY_MODEL_TEXT)
            return None
        if self.document.analysis.has_errors:
            QMessageBox.warning(
                self.window,
                "The model has errors",
                "Fix the problems listed in the Problems panel before exporting.",
            )
            return None
        path = path or self._ask_path(kind, suffix, filters)
        if path is None:
            return None
        graph = self.document.graph.copy()
        project = self.document.path
        embed = self.embed_data

        def job() -> Path:
            from dlstudio.train.experiment import build_experiment, write_notebook, write_script

            experiment = build_experiment(graph, project, embed_data=embed)
            if kind == "script":
                return write_script(experiment, path)
            return write_notebook(experiment, path, graph)

        def done(written: Any) -> None:
            self.busy = None
            self.last_error = ""
            self.finished.emit(f"Exported the training {kind} {Path(written).name}")

        def failed(exc: BaseException, _trace: str) -> None:
            self.busy = None
            self.last_error = str(exc) or repr(exc)
            QMessageBox.critical(self.window, f"Training {kind} export failed", self.last_error)
            self.finished.emit(f"Training {kind} export failed")

        self.busy = run_in_thread(job, done, failed)
        return self.busy

    def _ask_path(self, kind: str, suffix: str, filters: str) -> Path | None:
        stem = (self.document.path.stem if self.document.path else "") or "train"
        name = f"{stem}_train{suffix}"
        folder = self.document.path.parent if self.document.path else last_folder()
        title = f"Export training {kind}"
        chosen, _ = QFileDialog.getSaveFileName(self.window, title, str(folder / name), filters)
        if not chosen:
            return None
        remember_folder(chosen)
        return Path(chosen)
