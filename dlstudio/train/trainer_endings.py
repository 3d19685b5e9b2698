"""How a run ends: stopped, finished, failed (with a message naming the step, layer or worker).

A mixin of :class:`~dlstudio.train.trainer.Trainer`, kept apart so the loop reads on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from dlstudio.train.events import Event, FailedEvent, FinishedEvent
from dlstudio.train.faults import (
    exception_text,
    failing_layer,
    layer_failure_message,
    non_finite_message,
)
from dlstudio.train.kept_checkpoint import CheckpointKeeper
from dlstudio.train.run_state import LayerFailure, NonFiniteLoss, Progress, RunResult


class RunEndings:
    """Saving checkpoints and the endings of a run (attributes are the Trainer's, declared here
    so a type checker holds both sides to them)."""

    _progress: Progress
    _history: list[Any]
    _keeper: CheckpointKeeper
    _train_metrics: Any
    config: Any
    model: Any
    optimizer: Any
    scheduler: Any
    scaler: Any
    dist: Any
    callbacks: list[Any]
    _flush: Callable[..., Any]

    @property
    def _last_checkpoint(self) -> Path | None:
        return self._keeper.path

    def _save(self) -> None:
        p = self._progress
        progress: dict[str, Any] = {
            **p.to_dict(),
            "train_metrics": self._train_metrics.state(),
            "config": self.config.to_metadata(),
        }
        self._keeper.save(
            p.step,
            model=self.model,
            optimizer=self.optimizer,
            scheduler=self.scheduler,
            scaler=self.scaler,
            progress=progress,
        )

    def _stopped(self) -> RunResult:
        self._flush()
        self._save()
        return self._finish("stopped")

    def _finish(self, reason: str) -> RunResult:
        p = self._progress
        checkpoint = str(self._last_checkpoint) if self._last_checkpoint else None
        self._emit(FinishedEvent(reason, p.epoch, p.step, dict(p.best), checkpoint, p.best_epoch))
        return RunResult(
            reason,
            p.epoch,
            p.step,
            self._history,
            dict(p.best),
            "",
            self._last_checkpoint,
            p.best_epoch,
        )

    def _fail(self, message: str, details: str, **extra: Any) -> RunResult:
        p = getattr(self, "_progress", Progress())
        if self.dist.active and not message.startswith("rank "):
            message = f"{self.dist.label}: {message}"
        checkpoint = str(self._last_checkpoint) if self._last_checkpoint else None
        self._emit(FailedEvent(message, details, checkpoint=checkpoint, **extra))
        history = getattr(self, "_history", [])
        return RunResult(
            "failed", p.epoch, p.step, history, dict(p.best), message, self._last_checkpoint
        )

    def _fail_non_finite(self, exc: NonFiniteLoss) -> RunResult:
        # A training loss at step s was computed on the weights after step s - 1; a validation
        # loss on the weights after the epoch's last step.
        checked = exc.step - 1 if exc.phase == "training" else exc.step
        self._keeper.reject_weights_of(checked)
        self._keeper.restore_into(self.model)
        message = non_finite_message(exc.value, exc.step, self._last_checkpoint, exc.phase)
        return self._fail(message, "", step=exc.step)

    def _fail_layer(self, wrapped: LayerFailure) -> RunResult:
        layer = failing_layer(self.model, wrapped.exc)
        step = self._progress.step + 1
        message = layer_failure_message(
            wrapped.exc, wrapped.phase, layer, step, self._progress.batch_size
        )
        return self._fail(message, exception_text(wrapped.exc), step=step, layer=layer)

    def _emit(self, event: Event) -> None:
        for callback in self.callbacks:
            callback(event)
