"""The tuning engine: an Optuna study whose trials are ordinary training runs.

TPE sampling seeded from the project's seed, median pruning on the per-epoch validation metric
(each epoch is reported to the trial; a trial Optuna prunes is stopped through the trainer's
stop token), the study in a database (SQLite in the tuning folder unless another URL is given,
so several machines can share one study). Every trial is written as a run of the run history
(:class:`~dlstudio.train.history.RunStore`). Knows nothing of Qt.
"""

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import optuna

from dlstudio.compile import compile_graph
from dlstudio.compile.weights import save_weights
from dlstudio.core import DLStudioError, LayerGraph
from dlstudio.train.checkpoint import seed_everything
from dlstudio.train.config import TrainConfig
from dlstudio.train.data import Dataset
from dlstudio.train.errors import TrainError
from dlstudio.train.events import EpochEvent, Event, FinishedEvent, RunControl, StepEvent
from dlstudio.train.history import RunRecord, RunStore
from dlstudio.train.session import make_trainer, resolve_run
from dlstudio.train.tune.space import Dimension, applied

MINIMIZED = ("loss", "mae")
"""Metrics where lower is better; every other metric is maximised."""
STUDY_FILE = "study.db"


class TuneError(TrainError):
    """A study that cannot start: bad storage, a metric the data does not report, and the like."""


@dataclass(frozen=True)
class TrialStarted:
    """A trial began training ``params`` in the run folder ``run_id``."""

    number: int
    params: dict[str, Any]
    run_id: str


@dataclass(frozen=True)
class TrialEpoch:
    """A trial finished an epoch with validation ``value`` of the study's metric."""

    number: int
    epoch: int
    value: float


@dataclass(frozen=True)
class TrialFinished:
    """A trial ended: ``state`` is ``complete``, ``pruned`` or ``fail`` (``message`` says why)."""

    number: int
    state: str
    params: dict[str, Any]
    value: float | None
    epochs: int
    run_id: str
    message: str = ""


TuneEvent = TrialStarted | TrialEpoch | TrialFinished
TuneCallback = Callable[[TuneEvent], None]


@dataclass(frozen=True)
class TuneSettings:
    """How to search: trials to run here, metric, storage and pruning."""

    trials: int = 20
    metric: str | None = None
    """Validation metric to optimise; None: the project's metric."""
    storage: str | None = None
    """Database URL; None: SQLite ``study.db`` in the tuning folder."""
    study_name: str | None = None
    """None: the model's name."""
    prune: bool = True
    prune_startup_trials: int = 5
    """Trials that run in full before pruning starts."""
    prune_warmup_epochs: int = 0
    """Epochs of each trial never pruned."""
    device: str = "auto"
    epochs: int | None = None
    """Epochs per trial; None: the project's setting."""
    trainer_callbacks: Sequence[Callable[[Event], None]] = field(default_factory=tuple)
    """Also receive every training event of every trial (progress display)."""


@dataclass
class TuneControl:
    """Thread-safe stop of a study: the running trial stops after its batch, no new one starts."""

    _stop: threading.Event = field(default_factory=threading.Event)
    _run: RunControl | None = None

    def stop(self) -> None:
        """End the study soon (the running trial is recorded as failed, stopped by you)."""
        self._stop.set()
        if self._run is not None:
            self._run.stop()

    @property
    def stop_requested(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stop.is_set()


class _TrialFailed(Exception):
    """A trial that could not train; Optuna records it as failed and the study goes on."""


def direction_of(metric: str) -> str:
    """``minimize`` for losses and errors, ``maximize`` for accuracies."""
    return "minimize" if metric in MINIMIZED else "maximize"


def default_storage(folder: Path) -> str:
    """The SQLite URL of the study file in a tuning folder."""
    return f"sqlite:///{(Path(folder) / STUDY_FILE).resolve()}"


class Tuner:
    """Runs a study over a project: ``Tuner(graph, dims, folder, settings).run()``."""

    def __init__(
        self,
        graph: LayerGraph,
        dims: Sequence[Dimension],
        folder: Path,
        settings: TuneSettings,
        callbacks: Sequence[TuneCallback] = (),
        control: TuneControl | None = None,
        store: RunStore | None = None,
    ) -> None:
        self.graph = graph.copy()
        self.dims = list(dims)
        self.folder = Path(folder)
        self.settings = settings
        self.callbacks = list(callbacks)
        self.control = control or TuneControl()
        self.store = store or RunStore(self.folder / "runs")
        self.base, self.dataset = self._prepare()
        self.metric = settings.metric or self.base.metric
        self.direction = direction_of(self.metric)
        self.study = self._open_study()

    def _prepare(self) -> tuple[TrainConfig, Dataset]:
        base, dataset = resolve_run(
            self.graph.metadata.get("training"),
            epochs=self.settings.epochs,
            device=self.settings.device,
        )
        if base.val_fraction <= 0:
            raise TuneError(
                "tuning compares trials on the validation split, but val_fraction is 0; set it "
                "to 0.2 in the training settings"
            )
        return base, dataset

    def _open_study(self) -> optuna.Study:
        # Our own lines report every trial; Optuna's would add a traceback for each failed one.
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        storage = self.settings.storage or default_storage(self.folder)
        if self.settings.storage is None:
            self.folder.mkdir(parents=True, exist_ok=True)
        name = self.settings.study_name or self.graph.name or "model"
        pruner: optuna.pruners.BasePruner = (
            optuna.pruners.MedianPruner(
                n_startup_trials=self.settings.prune_startup_trials,
                n_warmup_steps=self.settings.prune_warmup_epochs,
            )
            if self.settings.prune
            else optuna.pruners.NopPruner()
        )
        try:
            study = optuna.create_study(
                storage=storage,
                study_name=name,
                pruner=pruner,
                direction=self.direction,
                load_if_exists=True,
            )
        except (ValueError, ImportError, optuna.exceptions.OptunaError) as exc:
            raise TuneError(f"cannot open the study {name!r} at {storage}: {exc}") from None
        except Exception as exc:  # SQLAlchemy's errors (bad URL, unreachable server)
            raise TuneError(f"cannot open the study {name!r} at {storage}: {exc}") from None
        if study.direction.name.lower() != self.direction:
            raise TuneError(
                f"the study {name!r} at {storage} already {study.direction.name.lower()}s; "
                f"{self.metric} is to {self.direction}: pick another --study-name"
            )
        self._check_space(study)
        study.sampler = optuna.samplers.TPESampler(
            seed=self._sampler_seed(len(study.trials)),
            n_startup_trials=max(2, min(10, self.settings.trials // 4)),
        )
        study.set_user_attr("metric", self.metric)
        return study

    def _check_space(self, study: optuna.Study) -> None:
        """A continued study must search each name over the same kind of domain."""
        for dim in self.dims:
            new = dim.distribution()
            for trial in study.get_trials(deepcopy=False):
                old = trial.distributions.get(dim.target)
                if old is None:
                    continue
                try:
                    optuna.distributions.check_distribution_compatibility(old, new)
                except ValueError:
                    raise TuneError(
                        f"--space {dim.argument!r}: the study {study.study_name!r} already "
                        f"searches {dim.target} over another kind of domain "
                        f"({type(old).__name__}); give a new --study-name or --folder"
                    ) from None
                break

    def _sampler_seed(self, existing: int) -> int:
        """The project's seed for a new study; moved on by the trials a continued study holds, so
        they are not drawn again. Workers of a shared study (``storage``) start together and would
        draw the same values from one seed: each mixes in its own random number."""
        seed = self.base.seed + existing
        if self.settings.storage is not None:
            seed += secrets.randbelow(2**31)
        return seed % 2**32

    @property
    def storage_url(self) -> str:
        """Where the study lives."""
        return self.settings.storage or default_storage(self.folder)

    def run(self) -> optuna.Study:
        """Run the trials (fewer if stopped); failed trials are recorded and the study goes on."""
        if self.control.stop_requested:
            return self.study
        self.study.optimize(
            self._objective,
            n_trials=self.settings.trials,
            catch=(_TrialFailed,),
            callbacks=[self._after_trial],
        )
        return self.study

    # -- one trial ------------------------------------------------------------------------------

    def _objective(self, trial: optuna.Trial) -> float:
        params = {}
        for dim in self.dims:
            try:
                params[dim.target] = dim.suggest(trial)
            except ValueError as exc:  # the study searched this name over another domain
                raise TuneError(
                    f"--space {dim.argument!r}: the study {self.study.study_name!r} already "
                    f"searches {dim.target} over another kind of domain ({exc}); give a new "
                    "--study-name or --folder"
                ) from None
        graph = applied(self.graph, self.dims, params)
        training = {d.param: params[d.target] for d in self.dims if d.node_path is None}
        try:
            config = self.base.replace(**training)
        except TrainError as exc:
            return self._fail(trial, params, None, str(exc))
        record = self.store.create(graph, config.to_metadata(), datetime.now())
        record.trial = {"study": self.study.study_name, "number": trial.number, "params": params}
        self.store.save(record)
        trial.set_user_attr("run", str(record.folder))
        self._emit(TrialStarted(trial.number, params, record.run_id))
        run = RunControl()
        self.control._run = run
        if self.control.stop_requested:
            run.stop()
        pruned = False
        values: list[float] = []

        def on_event(event: Event) -> None:
            nonlocal pruned
            if isinstance(event, StepEvent):
                record.add_step(event)
            elif isinstance(event, EpochEvent):
                record.add_epoch(event)
                self.store.save(record)
                value = event.val.get(self.metric)
                if value is None:
                    return
                values.append(float(value))
                self._emit(TrialEpoch(trial.number, event.epoch, float(value)))
                if math.isfinite(value):
                    trial.report(float(value), event.epoch)
                if trial.should_prune():
                    pruned = True
                    run.stop()
            elif isinstance(event, FinishedEvent):
                record.best = dict(event.best)
                record.checkpoint = event.checkpoint

        try:
            seed_everything(config.seed)  # every trial's model starts from the same draw
            compiled = compile_graph(graph)
        except DLStudioError as exc:
            return self._fail(trial, params, record, str(exc))
        callbacks = [on_event, *self.settings.trainer_callbacks]
        trainer = make_trainer(compiled, config, callbacks, run, checkpoint_dir=record.folder)
        result = trainer.run(self.dataset)
        self.control._run = None
        if result.steps:
            save_weights(compiled.module.to("cpu"), record.weights_path)
        if result.status == "failed":
            return self._fail(trial, params, record, result.message)
        if result.status == "stopped" and not pruned:
            why = "stopped by you" if self.control.stop_requested else "stopped early"
            return self._fail(trial, params, record, f"{why} at epoch {len(values)}")
        if not values:
            available = ", ".join(result.history[-1].val) if result.history else "none"
            return self._fail(
                trial,
                params,
                record,
                f"the validation split reports no {self.metric} (it reports: {available}); "
                "choose another metric",
            )
        if pruned:
            self._end(record, "pruned", trial, params, values[-1], len(values))
            raise optuna.TrialPruned(f"pruned at epoch {len(values)}")
        value = min(values) if self.direction == "minimize" else max(values)
        self._end(record, "complete", trial, params, value, len(values))
        return value

    def _end(
        self,
        record: RunRecord,
        state: str,
        trial: optuna.Trial,
        params: dict[str, Any],
        value: float | None,
        epochs: int,
        message: str = "",
    ) -> None:
        record.status = {"complete": "completed", "fail": "failed"}.get(state, state)
        record.message = message
        self.store.save(record)
        self._emit(
            TrialFinished(trial.number, state, params, value, epochs, record.run_id, message)
        )

    def _fail(
        self, trial: optuna.Trial, params: dict[str, Any], record: RunRecord | None, message: str
    ) -> float:
        self.control._run = None
        trial.set_user_attr("message", message)
        if record is not None:
            epochs = len(record.epochs)
            self._end(record, "fail", trial, params, None, epochs, message)
        else:
            self._emit(TrialFinished(trial.number, "fail", params, None, 0, "", message))
        raise _TrialFailed(message)

    def _after_trial(self, study: optuna.Study, _trial: optuna.trial.FrozenTrial) -> None:
        if self.control.stop_requested:
            study.stop()

    def _emit(self, event: TuneEvent) -> None:
        for callback in self.callbacks:
            callback(event)


def best_trial(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    """The best completed trial, or None when none completed."""
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not done:
        return None
    return study.best_trial
