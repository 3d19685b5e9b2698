"""The training loop: one class, no Qt, reporting through callbacks with frozen events."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dlstudio.train.checkpoint import (
    load_checkpoint,
    save_checkpoint,
    seed_everything,
    set_rng_states,
)
from dlstudio.train.compat import ExpectedInput, check_inputs, check_target, target_warnings
from dlstudio.train.config import CLASS_LOSSES, TrainConfig
from dlstudio.train.data.base import Dataset, DataSplit
from dlstudio.train.devices import (
    choose_precision,
    configure_cpu_threads,
    place_split,
    resolve_device,
)
from dlstudio.train.errors import DLStudioError, IncompatibleDataError, TrainError
from dlstudio.train.evaluation import evaluate, forward
from dlstudio.train.events import (
    Callback,
    EpochEvent,
    Event,
    FailedEvent,
    FinishedEvent,
    NoticeEvent,
    PausedEvent,
    RunControl,
    StepEvent,
)
from dlstudio.train.faults import (
    exception_text,
    failing_layer,
    is_out_of_memory,
    layer_failure_message,
    non_finite_message,
)
from dlstudio.train.objectives import MetricTracker, compute_loss, metrics_for
from dlstudio.train.optim import make_optimizer, make_scheduler
from dlstudio.train.run_state import LayerFailure, NonFiniteLoss, Progress, RunResult

CHECKPOINT_NAME = "checkpoint.pt"


class Trainer:
    """Trains a module on a data set with the settings of a :class:`TrainConfig`.

    ``run`` blocks until the run ends and never raises for problems of the run itself: they arrive
    as a :class:`FailedEvent` and in the returned :class:`RunResult`. Call it from a worker thread
    and stop or pause it through ``control``.
    """

    def __init__(
        self,
        model: nn.Module,
        config: TrainConfig,
        callbacks: Iterable[Callback] = (),
        control: RunControl | None = None,
        checkpoint_dir: str | Path | None = None,
        expected_inputs: Sequence[ExpectedInput] | None = None,
        input_names: Sequence[str] | None = None,
        expected_output: ExpectedInput | None = None,
    ) -> None:
        self.model = model
        self.config = config
        self.callbacks = list(callbacks)
        self.control = control or RunControl()
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.expected_inputs = expected_inputs
        self.input_names = input_names
        self.expected_output = expected_output
        self.device = torch.device("cpu")
        self._last_checkpoint: Path | None = None

    # -- public ---------------------------------------------------------------------------------

    def run(
        self,
        data: Dataset | tuple[DataSplit, DataSplit | None],
        resume_from: str | Path | None = None,
    ) -> RunResult:
        """Train until the epochs are done, early stopping, a stop request or a failure."""
        self._progress = Progress(batch_size=self.config.batch_size)
        self._history: list[EpochEvent] = []
        try:
            train, val = self._prepare(data)
            if resume_from is not None:
                self._resume(resume_from)
            return self._loop(train, val)
        except NonFiniteLoss as exc:
            return self._fail_non_finite(exc)
        except LayerFailure as wrapped:
            return self._fail_layer(wrapped)
        except DLStudioError as exc:
            return self._fail(str(exc), "")
        except Exception as exc:
            return self._fail(f"training failed: {type(exc).__name__}: {exc}", exception_text(exc))

    # -- setup ----------------------------------------------------------------------------------

    def _prepare(
        self, data: Dataset | tuple[DataSplit, DataSplit | None]
    ) -> tuple[DataSplit, DataSplit | None]:
        cfg = self.config
        if isinstance(data, Dataset):
            problems = check_target(data, cfg.loss, self.expected_output)
            if self.expected_inputs is not None:
                problems = check_inputs(data, self.expected_inputs, self.input_names) + problems
            if problems:
                raise IncompatibleDataError(problems)
            for warning in target_warnings(data, cfg.loss, self.expected_output):
                self._emit(NoticeEvent(f"warning: {warning}", 0))
            train, val = data.split(cfg.val_fraction, cfg.seed)
        else:
            train, val = data
        if len(train) == 0:
            raise TrainError(
                "the training split is empty; use a bigger data set or a smaller val_fraction"
            )
        self.device = resolve_device(cfg.device)
        if self.device.type == "cpu":
            configure_cpu_threads()
        self.precision = choose_precision(self.device, cfg.mixed_precision)
        seed_everything(cfg.seed)
        self.model.to(self.device)
        self.optimizer = make_optimizer(self.model, cfg)
        self._steps_per_epoch = math.ceil(len(train) / cfg.batch_size)
        self.scheduler = make_scheduler(self.optimizer, cfg, self._steps_per_epoch)
        # With no schedule and no warm-up the factor is always 1: skip the per-step call.
        self._schedule_active = cfg.schedule != "none" or cfg.warmup_steps > 0
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision.use_scaler)
        sequence = train.target.dim() >= 2 and cfg.loss in CLASS_LOSSES
        self._metric_names = metrics_for(cfg.loss, cfg.metric, sequence)
        self._train_metrics = MetricTracker(self._metric_names[:1], cfg.loss, cfg.ignore_index)
        train = place_split(train, self.device)
        self._data_on_device = train.target.device.type == self.device.type
        return train, (place_split(val, self.device) if val is not None and len(val) else None)

    def _resume(self, path: str | Path) -> None:
        payload = load_checkpoint(path)
        try:
            self.model.load_state_dict(payload["model"])
            self.optimizer.load_state_dict(payload["optimizer"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise TrainError(
                f"{path}: this checkpoint belongs to a different model or optimizer ({exc}); "
                "resume with the model it was saved from, or load it as weights"
            ) from None
        self.scheduler.load_state_dict(payload["scheduler"])
        if payload.get("scaler") and self.scaler.is_enabled():
            self.scaler.load_state_dict(payload["scaler"])
        set_rng_states(payload["rng"])
        saved = payload["progress"]
        self._progress.load(saved)
        self._train_metrics.load_state(saved["train_metrics"])
        self._last_checkpoint = Path(path)

    # -- the loop -------------------------------------------------------------------------------

    def _loop(self, train: DataSplit, val: DataSplit | None) -> RunResult:
        cfg, p = self.config, self._progress
        self._pending: list[torch.Tensor] = []
        self._pending_first_step = p.step
        self._report_time = time.perf_counter()
        self._report_samples = 0
        n = self._n_train = len(train)
        if p.batch_size != cfg.batch_size:
            self._rebuild_schedule()
        best_state: dict[str, torch.Tensor] | None = None
        while p.epoch < cfg.epochs:
            epoch_start = time.perf_counter()
            self.model.train()  # once an epoch: evaluate() switches to eval mode and back
            # A generator seeded per epoch gives the same order after a resume, with no state.
            gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + p.epoch)
            order = torch.randperm(n, generator=gen).to(train.target.device)
            while p.position < n:
                if self._should_stop():
                    return self._stopped()
                index = order[p.position : p.position + p.batch_size]
                self._train_batch(train, index)
            self._flush()
            train_metrics = {"loss": p.epoch_loss / max(1, p.epoch_loss_steps)}
            if cfg.train_metric:
                train_metrics.update(self._train_metrics.result())
            val_metrics = self.evaluate(val) if val is not None else {}
            p.epoch += 1
            p.position, p.epoch_loss, p.epoch_loss_steps = 0, 0.0, 0
            self._train_metrics.reset()
            event = EpochEvent(
                p.epoch, p.step, train_metrics, val_metrics, time.perf_counter() - epoch_start
            )
            self._history.append(event)
            improved = self._track_best(val_metrics or train_metrics)
            if improved and cfg.early_stopping_patience:
                best_state = copy.deepcopy(self.model.state_dict())
            self._save()
            self._emit(event)
            if cfg.early_stopping_patience and p.bad_epochs >= cfg.early_stopping_patience:
                if best_state is not None:
                    self.model.load_state_dict(best_state)
                return self._finish("early_stopping")
        return self._finish("completed")

    def _should_stop(self) -> bool:
        if self.control.pause_requested and not self.control.stop_requested:
            self._flush()
            self._emit(PausedEvent(self._progress.step, self._progress.epoch + 1))
            self.control.wait_while_paused()
            self._report_time = time.perf_counter()
            self._report_samples = 0
        return self.control.stop_requested

    def _train_batch(self, train: DataSplit, index: torch.Tensor) -> None:
        p = self._progress
        inputs = tuple([x[index] for x in train.inputs])
        target = train.target[index]
        if not self._data_on_device:
            inputs = tuple(x.pin_memory().to(self.device, non_blocking=True) for x in inputs)
            target = target.pin_memory().to(self.device, non_blocking=True)
        try:
            loss, output = self._step(inputs, target)
        except LayerFailure as wrapped:
            if not (is_out_of_memory(wrapped.exc) and self._retry_smaller()):
                raise
            return
        self._pending.append(loss)
        if self.config.train_metric:
            self._train_metrics.update(output, target)
        p.step += 1
        p.position += len(index)
        self._report_samples += len(index)
        every = self.config.checkpoint_every_steps
        if len(self._pending) >= self.config.report_every_steps > 0 or (
            time.perf_counter() - self._report_time >= self.config.report_every_s
        ):
            self._flush()
        if every and p.step % every == 0:
            self._flush()
            self._save()

    def _step(
        self, inputs: tuple[torch.Tensor, ...], target: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.config
        model, optimizer = self.model, self.optimizer
        output = forward(model, inputs, self.device, self.precision)
        loss = compute_loss(cfg.loss, output, target, cfg.ignore_index)
        optimizer.zero_grad(set_to_none=True)
        try:
            if self.scaler.is_enabled():
                self.scaler.scale(loss).backward()
                if cfg.grad_clip > 0:
                    self.scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(
                        optimizer.param_groups[0]["params"], cfg.grad_clip
                    )
                self.scaler.step(optimizer)
                self.scaler.update()
            else:
                loss.backward()
                if cfg.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(
                        optimizer.param_groups[0]["params"], cfg.grad_clip
                    )
                optimizer.step()
        except Exception as exc:
            raise LayerFailure(exc, "backward") from exc
        if self._schedule_active:
            self.scheduler.step()
        return loss.detach(), output

    def _retry_smaller(self) -> bool:
        """After running out of device memory: halve the batch and carry on, if allowed."""
        p = self._progress
        if not self.config.oom_retry or p.batch_size <= 1:
            return False
        self.optimizer.zero_grad(set_to_none=True)
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        p.batch_size //= 2
        self._rebuild_schedule()
        self._emit(
            NoticeEvent(
                f"out of device memory at step {p.step + 1}: retrying with batch size {p.batch_size}",
                p.step + 1,
            )
        )
        return True

    def _rebuild_schedule(self) -> None:
        """Fit the schedule to a batch size other than the configured one (after an OOM halving,
        or resuming such a run): same curve over samples seen, more steps."""
        p = self._progress
        self._steps_per_epoch = math.ceil(self._n_train / p.batch_size)
        self.scheduler = make_scheduler(self.optimizer, self.config, self._steps_per_epoch)
        seen = p.epoch * self._n_train + p.position
        if seen:
            self.scheduler.last_epoch = seen // p.batch_size - 1
            self.scheduler.step()

    def _flush(self) -> None:
        """Read back the losses since the last report (the only sync), check them, report."""
        p = self._progress
        if not self._pending:
            return
        values = torch.stack(self._pending).float().cpu().tolist()
        first = self._pending_first_step
        self._pending = []
        self._pending_first_step = p.step
        for offset, value in enumerate(values):
            if not math.isfinite(value):
                raise NonFiniteLoss(first + offset + 1, value)
        p.epoch_loss += sum(values)
        p.epoch_loss_steps += len(values)
        now = time.perf_counter()
        elapsed = max(now - self._report_time, 1e-9)
        rate = self._report_samples / elapsed
        self._report_time, self._report_samples = now, 0
        lr = float(self.optimizer.param_groups[0]["lr"])
        fraction = p.position / max(1, self._n_train)
        self._emit(
            StepEvent(p.step, p.epoch + 1, sum(values) / len(values), lr, rate, min(1.0, fraction))
        )

    # -- evaluation -----------------------------------------------------------------------------

    def evaluate(self, split: DataSplit) -> dict[str, float]:
        """Loss and metrics of the model on ``split`` (one device sync at the end)."""
        return evaluate(
            self.model, split, self.config, self._metric_names, self.device, self.precision
        )

    def _track_best(self, metrics: dict[str, float]) -> bool:
        p = self._progress
        score = metrics.get("loss", math.inf)
        if score < p.best_score:
            p.best_score, p.bad_epochs, p.best = score, 0, dict(metrics)
            return True
        p.bad_epochs += 1
        return False

    # -- endings --------------------------------------------------------------------------------

    def _save(self) -> None:
        if self.checkpoint_dir is None:
            return
        p = self._progress
        progress: dict[str, Any] = {
            **p.to_dict(),
            "train_metrics": self._train_metrics.state(),
            "config": self.config.to_metadata(),
        }
        self._last_checkpoint = save_checkpoint(
            self.checkpoint_dir / CHECKPOINT_NAME,
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
        self._emit(FinishedEvent(reason, p.epoch, p.step, dict(p.best), checkpoint))
        return RunResult(
            reason, p.epoch, p.step, self._history, dict(p.best), "", self._last_checkpoint
        )

    def _fail(self, message: str, details: str, **extra: Any) -> RunResult:
        p = getattr(self, "_progress", Progress())
        checkpoint = str(self._last_checkpoint) if self._last_checkpoint else None
        self._emit(FailedEvent(message, details, checkpoint=checkpoint, **extra))
        history = getattr(self, "_history", [])
        return RunResult(
            "failed", p.epoch, p.step, history, dict(p.best), message, self._last_checkpoint
        )

    def _fail_non_finite(self, exc: NonFiniteLoss) -> RunResult:
        if self._last_checkpoint is not None:
            self.model.load_state_dict(load_checkpoint(self._last_checkpoint)["model"])
        message = non_finite_message(exc.value, exc.step, self._last_checkpoint)
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
