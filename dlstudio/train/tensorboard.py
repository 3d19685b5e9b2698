"""TensorBoard event files for a run: scalars per step and per epoch, the hyper-parameters and
the model graph, written with torch's ``SummaryWriter`` (``pip install tensorboard`` to view:
``tensorboard --logdir DIR``)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import torch

from dlstudio.train.config import TrainConfig
from dlstudio.train.errors import TrainError
from dlstudio.train.events import EpochEvent, Event, FailedEvent, FinishedEvent, StepEvent


def example_inputs(dataset: Any, input_names: list[str]) -> tuple[torch.Tensor, ...]:
    """Two training samples in the model's Input order, to trace the graph with."""
    dataset.select_inputs(list(input_names))
    return tuple(x[:2] for x in dataset.data.inputs)


class TensorBoardWriter:
    """A run callback that writes every report to TensorBoard event files in ``log_dir``.

    Tags: ``step/loss``, ``step/lr``, ``step/samples_per_s`` at each report (x: the optimizer
    step); ``epoch/train_<metric>`` and ``epoch/val_<metric>`` at each epoch's end (x: the
    epoch); the settings as hyper-parameters with the best metrics (``hparam/<split>_<metric>``)
    when the run ends.
    """

    def __init__(self, log_dir: str | Path, config: TrainConfig, dataset: str = "") -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:
            raise TrainError(
                f"TensorBoard logging needs the tensorboard package ({exc}); install it with "
                "pip install tensorboard, or run without --tensorboard"
            ) from None
        self.log_dir = Path(log_dir)
        try:
            self.writer = SummaryWriter(log_dir=str(self.log_dir))
        except OSError as exc:
            raise TrainError(f"--tensorboard cannot write {self.log_dir}: {exc}") from None
        self.config = config
        self.dataset = dataset
        self._closed = False

    def add_graph(self, model: torch.nn.Module, example: tuple[torch.Tensor, ...]) -> str | None:
        """Trace ``model`` on ``example`` (one or two samples) into the graph tab; returns a
        message when the model cannot be traced (training goes on without the graph)."""
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad(), warnings.catch_warnings():
                # add_graph traces with torch.jit, which torch marks deprecated; it is still
                # how SummaryWriter draws the graph.
                warnings.simplefilter("ignore", DeprecationWarning)
                self.writer.add_graph(model, example if len(example) != 1 else example[0])
        except Exception as exc:  # tracing fails on models with data-dependent control flow
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return f"TensorBoard: the model graph could not be traced ({first}); scalars go on"
        finally:
            model.train(was_training)
        return None

    def __call__(self, event: Event) -> None:
        if self._closed:
            return
        if isinstance(event, StepEvent):
            self._scalar("step/loss", event.loss, event.step)
            self._scalar("step/lr", event.lr, event.step)
            self._scalar("step/samples_per_s", event.samples_per_s, event.step)
        elif isinstance(event, EpochEvent):
            for split, values in (("train", event.train), ("val", event.val)):
                for name, value in values.items():
                    self._scalar(f"epoch/{split}_{name}", value, event.epoch)
            self._scalar("epoch/samples_per_s", event.samples_per_s, event.epoch)
            self.writer.flush()
        elif isinstance(event, FinishedEvent):
            self._hparams(event.best, event.reason)
            self.close()
        elif isinstance(event, FailedEvent):
            self._hparams({}, "failed")
            self.close()

    def _scalar(self, tag: str, value: float, step: int) -> None:
        if isinstance(value, int | float) and math.isfinite(value):
            self.writer.add_scalar(tag, float(value), step)

    def _hparams(self, best: dict[str, float], outcome: str) -> None:
        from torch.utils.tensorboard.summary import hparams

        settings = self.config.to_metadata()
        values: dict[str, Any] = {
            k: v for k, v in settings.items() if isinstance(v, bool | int | float | str)
        }
        values["dataset"] = self.dataset or str(settings.get("dataset") or "")
        values["outcome"] = outcome
        split = "val" if self.config.val_fraction > 0 else "train"
        metrics = {
            f"hparam/{split}_{k}": float(v)
            for k, v in best.items()
            if isinstance(v, int | float) and math.isfinite(v)
        }
        # Written into this run's own file (SummaryWriter.add_hparams would open another run).
        experiment, start, end = hparams(values, metrics)
        file_writer = self.writer._get_file_writer()
        for summary in (experiment, start, end):
            file_writer.add_summary(summary)
        for tag, value in metrics.items():
            self.writer.add_scalar(tag, value)

    def close(self) -> None:
        """Flush and close the event file (again: nothing)."""
        if not self._closed:
            self._closed = True
            self.writer.flush()
            self.writer.close()
