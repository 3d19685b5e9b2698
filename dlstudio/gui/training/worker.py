"""The training worker: a QObject moved to a QThread that compiles, trains and evaluates.

Everything it reports goes through ``event`` as the trainer's frozen dataclasses (plus
:class:`~dlstudio.train.health.HealthEvent` and :class:`RunOutcome`); Qt queues those signals to
the GUI thread, so nothing here touches a widget. A failure of any kind (compile error, missing
data file, incompatible data) arrives as a :class:`~dlstudio.train.FailedEvent`, exactly like a
failure inside the trainer.
"""

from __future__ import annotations

import dataclasses
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PySide6.QtCore import QObject, Signal, Slot

from dlstudio.compile import compile_graph, save_weights
from dlstudio.compile.project_weights import load_attached_weights
from dlstudio.compile.weights import load_weights
from dlstudio.core import DLStudioError, LayerGraph
from dlstudio.gui.training.evaluation import Predictions, choose_split, evaluate_model
from dlstudio.gui.training.processes import run_on_processes
from dlstudio.train import (
    Dataset,
    FailedEvent,
    NoticeEvent,
    RunControl,
    RunResult,
    TrainConfig,
    make_trainer,
    resolve_run,
)
from dlstudio.train.data.hf_tokenizer import project_tokenizer_folder
from dlstudio.train.health import MIN_SECONDS, TIME_BUDGET, HealthMonitor
from dlstudio.train.reproducible import seeded_build
from dlstudio.train.tensorboard import TensorBoardWriter, example_inputs


@dataclass(frozen=True)
class RunRequest:
    """What to train: a snapshot of the graph, its training settings and the run folder."""

    graph: LayerGraph
    training: dict[str, Any]
    """The project's ``metadata["training"]`` as the panel shows it."""
    device: str
    folder: Path
    health_every: int = 20
    base_dir: Path | None = None
    """The project file's folder: relative data paths start there (None: an unsaved project)."""
    init_weights: Path | None = None
    """Start from these weights ("Start from weights…"), matched by layer path and shape."""
    threads: int = 0
    """CPU threads (0: chosen for this machine)."""
    project_path: Path | None = None
    """The project file, so weights it names (``metadata["weights"]``) load from beside it."""
    processes: int = 1
    """Worker processes (more than 1: the torchrun launcher, see processes.py)."""
    tensorboard: Path | None = None
    """Also write TensorBoard event files here (the panel's checkbox)."""


@dataclass(frozen=True)
class RunPrepared:
    """Sent once the data set is loaded: the complete settings (task, loss and metric filled
    in from the data set where the project leaves them open) and the data set's summary."""

    config: TrainConfig
    dataset: str


@dataclass(frozen=True)
class RunOutcome:
    """Sent last: how the run ended, the trained module (on the CPU) and its predictions."""

    result: RunResult
    module: torch.nn.Module | None
    predictions: Predictions | None
    weights: Path | None


def weights_label(result: RunResult) -> str:
    """Which epoch's weights a run ended with: the best one after early stopping (restored),
    else the last one trained."""
    if result.status == "early_stopping" and result.best_epoch:
        return f"epoch {result.best_epoch} (best, restored)"
    return f"epoch {result.epochs} (last)"


class TrainingWorker(QObject):
    """Runs one :class:`RunRequest` when :meth:`run` is invoked on its thread."""

    reported = Signal(object)
    """Every trainer event, HealthEvent and finally a RunOutcome (queued to the GUI thread)."""
    done = Signal()
    """The worker has nothing left to do; the thread may quit."""

    def __init__(self, request: RunRequest, control: RunControl) -> None:
        super().__init__()
        self.request = request
        self.control = control
        self.closing = False
        """Set (from the GUI thread) when the window closes: skip the results after training."""

    @Slot()
    def run(self) -> None:
        """Compile the snapshot, load the data, train, evaluate; never raises."""
        try:
            self.reported.emit(self._train())
        except Exception as exc:  # a worker must never die silently
            message = str(exc) if isinstance(exc, DLStudioError) else f"{type(exc).__name__}: {exc}"
            self.reported.emit(FailedEvent(message, traceback.format_exc()))
            self.reported.emit(RunOutcome(RunResult("failed", message=message), None, None, None))
        finally:
            self.done.emit()

    def _train(self) -> RunOutcome:
        request = self.request
        if request.processes > 1:
            return self._train_on_processes()
        # Shared with the command line: the same settings and checks as `dlstudio train`.
        config, dataset = resolve_run(
            request.training,
            base_dir=request.base_dir,
            device=request.device,
            threads=request.threads or None,
            tokenizer=project_tokenizer_folder(request.graph.metadata, request.project_path),
        )
        self.reported.emit(RunPrepared(config, dataset.summary()))
        # Initial weights come from the seed alone, as on the command line.
        compiled = seeded_build(
            lambda: compile_graph(request.graph, base_dir=request.base_dir), config.seed
        )
        load_attached_weights(compiled.module, request.graph, request.project_path)
        if request.init_weights is not None:
            report = load_weights(compiled.module, request.init_weights)
            self.reported.emit(NoticeEvent(f"starting from {report.summary()}", 0))
        monitor = HealthMonitor(
            request.graph,
            compiled,
            self.reported.emit,
            request.health_every,
            TIME_BUDGET,
            MIN_SECONDS,
        )
        callbacks = [monitor.on_event, self.reported.emit]
        board = self._tensorboard(config, dataset, compiled)
        if board is not None:
            callbacks.append(board)
        trainer = make_trainer(
            compiled, config, callbacks, self.control, request.folder, graph=request.graph
        )
        try:
            result = trainer.run(dataset)
        finally:
            monitor.close()
            if board is not None:
                board.close()
        if result.status == "failed" or result.steps == 0:
            return RunOutcome(result, None, None, None)
        # Closing the window: keep the weights, skip the results nobody will see.
        predictions = None if self.closing else self._predict(trainer.model, dataset, config)
        if predictions is not None:
            predictions = dataclasses.replace(predictions, weights=weights_label(result))
        module = trainer.model.to("cpu").eval()
        weights = save_weights(module, request.folder / "weights.safetensors")
        return RunOutcome(result, module, predictions, weights)

    def _tensorboard(self, config: Any, dataset: Any, compiled: Any) -> TensorBoardWriter | None:
        """The TensorBoard callback when the request asks for one, the graph already drawn."""
        if self.request.tensorboard is None:
            return None
        board = TensorBoardWriter(self.request.tensorboard, config, str(config.dataset or ""))
        note = board.add_graph(compiled.module, example_inputs(dataset, compiled.input_names))
        if note:
            self.reported.emit(NoticeEvent(note, 0))
        return board

    def _train_on_processes(self) -> RunOutcome:
        request = self.request
        config, dataset = resolve_run(request.training, base_dir=request.base_dir)
        self.reported.emit(RunPrepared(config, dataset.summary()))
        result = run_on_processes(request, request.processes, self.control, self.reported.emit)
        weights = request.folder / "weights.safetensors"
        if result.status == "failed" or not weights.exists():
            return RunOutcome(result, None, None, None)
        module = compile_graph(request.graph).module
        load_weights(module, weights, fit="all")
        module.eval()
        predictions = None if self.closing else self._predict(module, dataset, config)
        if predictions is not None:
            predictions = dataclasses.replace(predictions, weights=weights_label(result))
        return RunOutcome(result, module, predictions, weights)

    def _predict(
        self, module: torch.nn.Module, dataset: Dataset, config: TrainConfig
    ) -> Predictions | None:
        try:
            name, split = choose_split(dataset, config, test=False)
            return evaluate_model(module, split, dataset, config, name)
        except Exception:  # results are a bonus; a model that trained must not fail here
            return None
