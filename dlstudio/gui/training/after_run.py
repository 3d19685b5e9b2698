"""What the controller offers once a run has ended: evaluate it, export it, explain a failure.

A mixin of :class:`~dlstudio.gui.training.controller.TrainingController` (kept apart so each
file stays readable); the heavy work runs on pool threads through :func:`run_in_thread`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from PySide6.QtWidgets import QMessageBox

from dlstudio.gui.folders import ask_save_file
from dlstudio.gui.training.evaluation import Predictions
from dlstudio.gui.training.history import RunRecord
from dlstudio.gui.training.jobs import evaluate_run, export_run
from dlstudio.gui.workers import TaskHandle, run_in_thread
from dlstudio.train import FailedEvent

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance
    from PySide6.QtWidgets import QWidget

    from dlstudio.gui.training.monitor import TrainingMonitor


class RunResultsMixin:
    """Evaluate and Export of trained runs, and the details shown for a failed one."""

    # The TrainingController's state and methods this mixin uses, declared here so a type
    # checker holds both sides to them.
    task: TaskHandle | None
    """The evaluation or export running on a pool thread."""
    record: RunRecord | None
    trained: dict[str, torch.nn.Module]
    monitor: TrainingMonitor
    window: QWidget
    evaluation_finished: SignalInstance

    if TYPE_CHECKING:  # the controller's own, not the mixin's

        @property
        def is_running(self) -> bool: ...

        def _show_error(self, title: str, message: str, details: str = "") -> QMessageBox: ...

        def _show_predictions(self, predictions: Predictions) -> None: ...

    def module_for(self, record: RunRecord) -> torch.nn.Module | None:
        """The trained module of a run of this session (None: load it from the run folder)."""
        return self.trained.get(record.run_id)

    def latest_record(self) -> RunRecord | None:
        """The current or last run, else the newest in the history."""
        return self.record or self.monitor.history.current()

    def evaluate(self, record: RunRecord | None = None) -> TaskHandle | None:
        """Evaluate a trained run (default: the last one) on the test split, in a worker."""
        record = record if isinstance(record, RunRecord) else self.latest_record()
        if record is None or (self.is_running and record is self.record):
            self._show_error("Nothing to evaluate", "Train a model first (Run ▸ Train).")
            return None
        module = self.module_for(record)
        self.monitor.append_log(f"Evaluating run {record.run_id} on the test split…")
        self.task = run_in_thread(
            lambda: evaluate_run(record, module),
            self._on_evaluation_done,
            lambda exc, trace: self._on_evaluation_done(
                FailedEvent(f"evaluation failed: {exc}", trace)
            ),
        )
        return self.task

    def export_trained(
        self, record: RunRecord | None = None, path: Path | None = None
    ) -> TaskHandle | None:
        """Export a trained run as ONNX or as Python plus weights (by the file's suffix)."""
        record = record if isinstance(record, RunRecord) else self.latest_record()
        if record is None or (self.is_running and record is self.record):
            self._show_error("Nothing to export", "Train a model first (Run ▸ Train).")
            return None
        if path is None:
            name = ask_save_file(
                self.window,
                "Export trained model",
                f"{record.model_name}.onnx",
                "ONNX model (*.onnx);;Python code + weights (*.py)",
            )
            if not name:
                return None
            path = Path(name)
        module = self.module_for(record)
        self.monitor.append_log(f"Exporting run {record.run_id} to {path}…")
        self.task = run_in_thread(
            lambda: export_run(record, path, module),
            self._on_export_done,
            lambda exc, trace: self._show_error("Export failed", str(exc), trace),
        )
        return self.task

    def _on_evaluation_done(self, result: object) -> None:
        self.task = None
        if isinstance(result, Predictions):
            self._show_predictions(result)
            shown = ", ".join(f"{k} {v:.4g}" for k, v in result.metrics.items())
            self.monitor.append_log(
                f"Evaluation on the {result.split} split ({result.size} samples): {shown}", "ok"
            )
            self.monitor.setCurrentWidget(self.monitor.results)
        elif isinstance(result, FailedEvent):
            self._show_error("Evaluation failed", result.message, result.details)
        self.evaluation_finished.emit(result)

    def _on_export_done(self, message: str) -> None:
        self.task = None
        self.monitor.append_log(message.splitlines()[0], "ok")
        QMessageBox.information(self.window, "Trained model exported", message)

    def _failure_details(self, event: FailedEvent) -> str:
        """What a bug report needs: the run, where it failed, its settings, the traceback."""
        lines = []
        if self.record is not None:
            lines.append(
                f"Run {self.record.run_id} of {self.record.model_name} ({self.record.folder})"
            )
            lines.append("Settings: " + json.dumps(self.record.settings, sort_keys=True))
        if event.layer:
            lines.append(f"Layer: {event.layer}")
        if event.step is not None:
            lines.append(f"Step: {event.step}")
        if event.checkpoint:
            lines.append(f"Last checkpoint: {event.checkpoint}")
        if event.details:
            lines += ["", event.details]
        return "\n".join(lines)
