"""The training loop: one class, no Qt, reporting through callbacks with frozen events."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dlstudio.train.checkpoint import (
    load_checkpoint,
    seed_everything,
    set_rng_states,
)
from dlstudio.train.compat import ExpectedInput, check_inputs, check_target, target_warnings
from dlstudio.train.config import CLASS_LOSSES, TrainConfig
from dlstudio.train.data.augment import batch_generator
from dlstudio.train.data.base import Dataset, DataSplit
from dlstudio.train.devices import (
    choose_precision,
    configure_cpu_threads,
    place_split,
    resolve_device,
)
from dlstudio.train.distributed.context import DistContext
from dlstudio.train.distributed.sampler import GlobalOrderSampler
from dlstudio.train.errors import DLStudioError, IncompatibleDataError, TrainError
from dlstudio.train.evaluation import EvaluationStopped, evaluate, forward
from dlstudio.train.events import (
    Callback,
    EpochEvent,
    NoticeEvent,
    PausedEvent,
    RunControl,
    StepEvent,
)
from dlstudio.train.faults import (
    exception_text,
    is_out_of_memory,
)
from dlstudio.train.freezing import freeze, hold_statistics
from dlstudio.train.kept_checkpoint import CHECKPOINT_NAME, CheckpointKeeper
from dlstudio.train.objectives import (
    MetricTracker,
    compute_loss,
    ignore_padded_targets,
    metrics_for,
)
from dlstudio.train.optim import make_optimizer, make_scheduler
from dlstudio.train.reproducible import deterministic_algorithms
from dlstudio.train.run_state import LayerFailure, NonFiniteLoss, Progress, RunResult
from dlstudio.train.trainer_batch import BatchResizing
from dlstudio.train.trainer_endings import RunEndings
from dlstudio.train.update import apply_update

__all__ = ["CHECKPOINT_NAME", "Trainer"]


class Trainer(RunEndings, BatchResizing):
    """Trains a module on a data set with the settings of a :class:`TrainConfig`.

    ``run`` blocks until the run ends and never raises for problems of the run itself: they arrive
    as a :class:`FailedEvent` and in the returned :class:`RunResult`. Call it from a worker thread
    and stop or pause it through ``control``. ``frozen`` names submodules (node paths) whose
    parameters and statistics must not change. Under torchrun (``dist`` with several workers)
    the module is trained with DistributedDataParallel; only rank 0 writes checkpoints.
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
        frozen: Sequence[str] = (),
        dist: DistContext | None = None,
        target_padding: tuple[int, int] | None = None,
    ) -> None:
        self.model = model
        self.config = config
        self.callbacks = list(callbacks)
        self.control = control or RunControl()
        self.dist = dist or DistContext()
        folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.checkpoint_dir = folder
        self._keeper = CheckpointKeeper(folder if self.dist.is_main else None)
        self.expected_inputs = expected_inputs
        self.input_names = input_names
        self.expected_output = expected_output
        self.frozen = list(frozen)
        self.target_padding = target_padding
        """(input position, padding id) when the trained output carries that Input's padding
        mask: per-step targets at padded steps are ignored by the loss and the metrics."""
        self.device = torch.device("cpu")
        self._augment: Any = None

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
            with deterministic_algorithms(self.config.deterministic):
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
        finally:
            self._keeper.finish()

    # -- setup ----------------------------------------------------------------------------------

    def _prepare(
        self, data: Dataset | tuple[DataSplit, DataSplit | None]
    ) -> tuple[DataSplit, DataSplit | None]:
        cfg = self.config
        self._augment = data.augment if isinstance(data, Dataset) else None
        if isinstance(data, Dataset):
            data.select_inputs(list(self.input_names or []))  # by name, before any check
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
        if self.target_padding is not None:
            train = self._ignore_padding(train)
            val = self._ignore_padding(val) if val is not None else None
        if len(train) == 0:
            raise TrainError(
                "the training split is empty; use a bigger data set or a smaller val_fraction"
            )
        self.device = self.dist.device(cfg.device) or resolve_device(cfg.device)
        if self.device.type == "cpu":
            configure_cpu_threads(cfg.threads)
        self.precision = choose_precision(self.device, cfg.mixed_precision)
        self.dist.start(self.device)
        seed_everything(cfg.seed + self.dist.rank)
        self._frozen_modules = freeze(self.model, self.frozen)
        self.model.to(self.device)
        self.optimizer = make_optimizer(self.model, cfg)
        self._net = self.dist.wrap(self.model, self.device, cfg.sync_batchnorm)
        if cfg.sync_batchnorm and self.dist.active:
            self.model = self._net.module
            self._frozen_modules = freeze(self.model, self.frozen)
        if cfg.compile:
            self._net = torch.compile(self._net)
        self._steps_per_epoch = math.ceil(len(train) / cfg.batch_size)
        self.scheduler = make_scheduler(self.optimizer, cfg, self._steps_per_epoch)
        # With no schedule and no warm-up the factor is always 1: skip the per-step call.
        self._schedule_active = cfg.schedule != "none" or cfg.warmup_steps > 0
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision.use_scaler)
        sequence = train.target.dim() >= 2 and cfg.loss in CLASS_LOSSES
        self._metric_names = metrics_for(cfg.loss, cfg.metric, sequence)
        self._train_metrics = MetricTracker(self._metric_names[:1], cfg.loss, cfg.ignore_index)
        self._sampler = GlobalOrderSampler(
            len(train), cfg.seed, self.dist.rank, self.dist.world_size
        )
        train = place_split(train, self.device)
        self._data_on_device = train.target.device.type == self.device.type
        return train, (place_split(val, self.device) if val is not None and len(val) else None)

    def _ignore_padding(self, split: DataSplit) -> DataSplit:
        target = ignore_padded_targets(
            split.target, split.inputs, self.target_padding, self.config.ignore_index
        )
        return split if target is split.target else DataSplit(split.inputs, target)

    def _resume(self, path: str | Path) -> None:
        try:
            payload = load_checkpoint(path)
        except TrainError as exc:
            hint = (
                ""
                if "--init-weights" in str(exc)
                else (" (--init-weights on the command line, Start from weights… in the editor)")
            )
            raise TrainError(f"{exc}{hint}") from None
        try:
            self.model.load_state_dict(payload["model"])
            self.optimizer.load_state_dict(payload["optimizer"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise TrainError(
                f"{path}: this checkpoint belongs to a different model or optimizer ({exc}); "
                "resume with the model it was saved from, or start from its weights with "
                "--init-weights (editor: Start from weights…)"
            ) from None
        self.scheduler.load_state_dict(payload["scheduler"])
        if payload.get("scaler") and self.scaler.is_enabled():
            self.scaler.load_state_dict(payload["scaler"])
        set_rng_states(payload["rng"])
        saved = payload["progress"]
        self._progress.load(saved)
        self._train_metrics.load_state(saved["train_metrics"])
        self._keeper.resumed_from(Path(path))

    # -- the loop -------------------------------------------------------------------------------

    def _train_mode(self) -> None:
        self._net.train()
        hold_statistics(self._frozen_modules)  # frozen BatchNorm keeps its statistics

    def _loop(self, train: DataSplit, val: DataSplit | None) -> RunResult:
        cfg, p = self.config, self._progress
        self._pending: list[torch.Tensor] = []
        self._pending_first_step = p.step
        self._report_time = time.perf_counter()
        self._report_samples = 0
        self._stop_agreed = False
        n = self._n_train = len(train)
        if p.batch_size != cfg.batch_size:
            self._rebuild_schedule()
        best_state: dict[str, torch.Tensor] | None = None
        while p.epoch < cfg.epochs:
            epoch_start = time.perf_counter()
            epoch_from = p.position
            self._train_mode()  # once an epoch: evaluate() switches to eval mode and back
            self._sampler.set_epoch(p.epoch)
            order = self._sampler.order().to(train.target.device)
            while p.position < n:
                if self._should_stop():
                    return self._stopped()
                index = order[p.position : p.position + p.batch_size]
                self._train_batch(train, index)
            self._flush()
            train_seconds = time.perf_counter() - epoch_start
            train_metrics = {"loss": p.epoch_loss / max(1, p.epoch_loss_steps)}
            if cfg.train_metric:
                train_metrics.update(self._train_metrics.result())
            try:  # a Stop does not wait for validation: a resumed run validates this epoch
                val_metrics = self._validate(val) if val is not None else {}
            except EvaluationStopped:
                return self._stopped()
            if not math.isfinite(val_metrics.get("loss", 0.0)):
                raise NonFiniteLoss(p.step, val_metrics["loss"], "validation")
            p.epoch += 1
            p.position, p.epoch_loss, p.epoch_loss_steps = 0, 0.0, 0
            self._train_metrics.reset()
            event = EpochEvent(
                p.epoch,
                p.step,
                train_metrics,
                val_metrics,
                time.perf_counter() - epoch_start,
                samples_per_s=(n - epoch_from) / max(train_seconds, 1e-9),
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
        if self.dist.active:  # decided together at the report points (see _train_batch)
            return self._stop_agreed
        if self.control.pause_requested and not self.control.stop_requested:
            self._flush()
            self._emit(PausedEvent(self._progress.step, self._progress.epoch + 1))
            self.control.wait_while_paused()
            self._report_time = time.perf_counter()
            self._report_samples = 0
        return self.control.stop_requested

    def _train_batch(self, train: DataSplit, batch: torch.Tensor) -> None:
        p = self._progress
        index = self._sampler.local(batch)
        share = len(index) / len(batch)
        if len(index) == 0:  # a last batch smaller than the number of workers
            index, share = batch[:1], 0.0
        inputs = tuple([x[index] for x in train.inputs])
        target = train.target[index]
        if self._augment is not None:
            # Seeded by the step, so a resumed run draws the same augmentations.
            inputs = self._augment(
                inputs, batch_generator(self.config.seed, self.dist.rank, p.step)
            )
        if not self._data_on_device:
            inputs = tuple(x.pin_memory().to(self.device, non_blocking=True) for x in inputs)
            target = target.pin_memory().to(self.device, non_blocking=True)
        try:
            loss, output = self._step(inputs, target, share)
        except LayerFailure as wrapped:
            if not (is_out_of_memory(wrapped.exc) and self._retry_smaller()):
                raise
            return
        self._pending.append(loss)
        if self.config.train_metric:
            self._train_metrics.update(output, target)
        p.step += 1
        p.position += len(batch)
        self._report_samples += len(batch)
        every = self.config.checkpoint_every_steps
        if len(self._pending) >= self.config.report_every_steps > 0 or (
            not self.dist.active
            and time.perf_counter() - self._report_time >= self.config.report_every_s
        ):
            self._flush()
            if self.dist.active:
                self._stop_agreed = self.dist.any(self.control.stop_requested, self.device)
        if every and p.step % every == 0:
            self._flush()
            self._save()

    def _step(
        self, inputs: tuple[torch.Tensor, ...], target: torch.Tensor, share: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.config
        output = forward(self._net, inputs, self.device, self.precision)
        loss = compute_loss(cfg.loss, output, target, cfg.ignore_index)
        if self.dist.active:
            # DDP averages gradients over the workers: weighting each worker's mean by its share
            # of the global batch makes that average the gradient of the global batch's mean.
            loss = loss * (share * self.dist.world_size)
        apply_update(loss, self.optimizer, self.scaler, cfg.grad_clip)
        if self._schedule_active:
            self.scheduler.step()
        if self.dist.active:
            loss = loss / self.dist.world_size  # summed over the workers at the next report
        return loss.detach(), output

    def _flush(self) -> None:
        """Read back the losses since the last report (the only sync), check them, report."""
        p = self._progress
        if not self._pending:
            return
        values = self.dist.sum(torch.stack(self._pending).float()).cpu().tolist()
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

    def evaluate(
        self, split: DataSplit, stop: Callable[[], bool] | None = None
    ) -> dict[str, float]:
        """Loss and metrics of the model on ``split`` (one device sync at the end)."""
        metrics = evaluate(
            self.model, split, self.config, self._metric_names, self.device, self.precision, stop
        )
        hold_statistics(getattr(self, "_frozen_modules", ()))
        return metrics

    def _validate(self, split: DataSplit) -> dict[str, float]:
        """The epoch's validation; a Stop (or Pause) before or during it is taken at once,
        except with several workers, which agree on stopping at their report points."""
        if self.dist.active:
            return self.evaluate(split)
        if self._should_stop():
            raise EvaluationStopped
        return self.evaluate(split, lambda: self.control.stop_requested)

    def _track_best(self, metrics: dict[str, float]) -> bool:
        p = self._progress
        score = metrics.get("loss", math.inf)
        if score < p.best_score:
            p.best_score, p.bad_epochs, p.best = score, 0, dict(metrics)
            p.best_epoch = p.epoch
            return True
        p.bad_epochs += 1
        return False
