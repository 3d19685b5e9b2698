"""Training from the editor: settings panel, worker thread, live plots, results and health.

The single entry point is :func:`install_training_ui`::

    ui = install_training_ui(window)   # window has .document and .scene; it keeps ui
    ui.controller.start()              # what Run > Train does

Pieces: :class:`TrainingPanel` (settings and controls), :class:`TrainingController` (the run's
QThread and event routing), :class:`TrainingWorker` (runs the Trainer off the GUI thread),
:class:`LossPlot`, :class:`RunHistoryPanel` / :class:`RunStore`, :class:`ConfusionMatrixView`,
:class:`SamplePredictions` and :class:`HealthOverlay` (badges on the canvas nodes).
"""

from __future__ import annotations

from dlstudio.gui.training.controller import TrainingController
from dlstudio.gui.training.history import RunRecord, RunStore, runs_dir
from dlstudio.gui.training.install import TrainingUI, install_training_ui
from dlstudio.gui.training.monitor import TrainingMonitor
from dlstudio.gui.training.overlay import HealthOverlay, HealthTable
from dlstudio.gui.training.panel import TrainingPanel
from dlstudio.gui.training.plots import LossPlot
from dlstudio.gui.training.results import ConfusionMatrixView, SamplePredictions
from dlstudio.gui.training.runs_view import RunHistoryPanel
from dlstudio.gui.training.worker import RunOutcome, RunRequest, TrainingWorker

__all__ = [
    "ConfusionMatrixView",
    "HealthOverlay",
    "HealthTable",
    "LossPlot",
    "RunHistoryPanel",
    "RunOutcome",
    "RunRecord",
    "RunRequest",
    "RunStore",
    "SamplePredictions",
    "TrainingController",
    "TrainingMonitor",
    "TrainingPanel",
    "TrainingUI",
    "TrainingWorker",
    "install_training_ui",
    "runs_dir",
]
