"""File › Compare With…: the model on screen against another project or the snapshot of a
past run, side by side in this window and, on request, as marks on the canvas. The comparison
follows edits: every new analysis of the model on screen compares again."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dlstudio.analysis.model_diff import ModelDiff, diff_models
from dlstudio.core import DLStudioError, LayerGraph, load_project
from dlstudio.gui.experiment.diff_overlay import DiffOverlay
from dlstudio.gui.experiment.diff_view import ModelDiffView
from dlstudio.gui.folders import last_folder, remember_folder

if TYPE_CHECKING:  # dlstudio.train imports torch: the window opens before it is loaded
    from dlstudio.train.history import RunRecord, RunStore


class CompareDialog(QDialog):
    """Compare the window's model (B) with another model (A): a project file or a run."""

    def __init__(self, window, store: RunStore | None = None) -> None:
        super().__init__(window)
        self.window_ = window
        if store is None:
            from dlstudio.train.history import RunStore

            store = RunStore()
        self.store = store
        self.setWindowTitle("Compare With")
        self.setModal(False)
        self.resize(900, 560)
        self.other: LayerGraph | None = None
        self.other_label = ""
        self.diff: ModelDiff | None = None
        self.error = ""
        self.overlay = DiffOverlay(window.scene)
        self.file_button = QPushButton("Project File…", self)
        self.runs = QComboBox(self)
        self.runs.setMinimumContentsLength(28)
        self.canvas_box = QCheckBox("Mark the differences on the canvas", self)
        self.canvas_box.setChecked(True)
        self.view = ModelDiffView(self)
        self.status = QLabel("", self)
        self.status.setProperty("role", "dim")
        self.status.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Compare this model (B) with (A):", self))
        top.addWidget(self.file_button)
        top.addWidget(QLabel("or a past run:", self))
        top.addWidget(self.runs, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.canvas_box)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status)
        self._records: list[RunRecord] = []
        self.reload_runs()
        self.file_button.clicked.connect(self._on_file_button_clicked)
        self.runs.activated.connect(self._on_runs_activated)
        self.canvas_box.toggled.connect(self._on_canvas_box_toggled)
        window.document.analysis_ready.connect(self._on_document_analysis_ready)
        window.level.reset.connect(self._on_level_reset)

    # ------------------------------------------------------------------ choosing
    def reload_runs(self) -> None:
        """List the past runs, newest first."""
        self._records = list(reversed(self.store.load_all()))
        self.runs.clear()
        self.runs.addItem("choose a run…")
        for record in self._records:
            self.runs.addItem(f"{record.started:%Y-%m-%d %H:%M:%S}  {record.model_name}")
        self.runs.setEnabled(bool(self._records))

    def compare_with_file(self, path: str | Path) -> bool:
        """Compare with the project at ``path``; False (and the reason shown) if unreadable."""
        try:
            graph = load_project(path)
        except DLStudioError as exc:
            return self._refuse(str(exc))
        return self.compare_with(graph, Path(path).name)

    def compare_with_run(self, record: RunRecord) -> bool:
        """Compare with the model a past run trained (its snapshot)."""
        try:
            graph = record.load_graph()
        except DLStudioError as exc:
            return self._refuse(f"run {record.run_id}: {exc}")
        return self.compare_with(graph, f"run {record.label}")

    def compare_with(self, graph: LayerGraph, label: str) -> bool:
        """Compare with ``graph`` (named ``label``) now and after every edit."""
        self.other, self.other_label = graph, label
        self.refresh()
        return True

    def refresh(self) -> None:
        """Compare again with the model as it is now."""
        if self.other is None:
            return
        document = self.window_.document
        current = document.graph
        self.diff = diff_models(self.other, current, analysis_b=document.analysis)
        self.view.set_diff(self.diff, self.other_label, document.display_name)
        self.error = ""
        self.status.setText(
            "Marks on the canvas: + new, Δ changed or renamed (hover a mark for the details); "
            "layers only A has are listed above."
        )
        self._draw_overlay()

    # ------------------------------------------------------------------ drawing
    def _draw_overlay(self) -> None:
        if self.diff is not None and self.canvas_box.isChecked() and self.isVisible():
            self.overlay.show(self.diff, self.window_.level.path)
        else:
            self.overlay.clear()

    def _refuse(self, message: str) -> bool:
        self.error = message
        self.status.setText(f"<span style='color:#f07b74'>{_escape(message)}</span>")
        return False

    # ------------------------------------------------------------------ slots
    def _on_file_button_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Compare with project", str(last_folder()), "DL Studio projects (*.json)"
        )
        if path:
            remember_folder(path)
            self.compare_with_file(path)

    def _on_runs_activated(self, index: int) -> None:
        if 1 <= index <= len(self._records):
            self.compare_with_run(self._records[index - 1])

    def _on_canvas_box_toggled(self, _on: bool) -> None:
        self._draw_overlay()

    def _on_document_analysis_ready(self, _result: object) -> None:
        if self.isVisible():
            self.refresh()

    def _on_level_reset(self) -> None:
        if self.isVisible():
            self._draw_overlay()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()

    def hideEvent(self, event) -> None:
        self.overlay.clear()
        super().hideEvent(event)


class RunArchitectureDialog(QDialog):
    """Two past runs compared by their architecture (the curves stay on the plots)."""

    def __init__(self, first: RunRecord, second: RunRecord, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Architecture difference between two runs")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(820, 480)
        older, newer = sorted((first, second), key=lambda r: r.started)
        self.view = ModelDiffView(self)
        self.diff: ModelDiff | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        try:
            self.diff = diff_models(older.load_graph(), newer.load_graph())
        except DLStudioError as exc:
            self.view.headline.setText(f"Cannot compare: {_escape(str(exc))}")
            return
        self.view.set_diff(self.diff, f"run {older.label}", f"run {newer.label}")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
