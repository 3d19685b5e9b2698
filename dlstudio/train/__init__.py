"""Training: data sets, the Trainer, metrics, checkpoints and weights. Knows nothing of Qt.

Typical use (the command line does exactly this)::

    config, dataset = resolve_run(graph.metadata.get("training"), epochs=3)
    trainer = make_trainer(compile_graph(graph), config, callbacks=[on_event],
                           control=RunControl(), checkpoint_dir=out)
    result = trainer.run(dataset)   # or trainer.run(dataset, resume_from=out / "checkpoint.pt")
"""

from __future__ import annotations

from dlstudio.train.checkpoint import load_checkpoint, save_checkpoint
from dlstudio.train.compat import check_inputs, check_target, target_warnings
from dlstudio.train.config import TrainConfig
from dlstudio.train.data import (
    Dataset,
    DatasetInfo,
    DataSplit,
    download_mnist,
    list_datasets,
    load_dataset,
    user_data_dir,
)
from dlstudio.train.devices import choose_precision, configure_cpu_threads, resolve_device
from dlstudio.train.errors import DatasetError, IncompatibleDataError, TrainError
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
from dlstudio.train.objectives import MetricTracker, compute_loss
from dlstudio.train.reporting import JsonlMetricsWriter, TextProgress
from dlstudio.train.run_state import RunResult
from dlstudio.train.session import make_trainer, resolve_run
from dlstudio.train.trainer import CHECKPOINT_NAME, Trainer
from dlstudio.train.weights import WeightLoadReport, load_weights, read_state_dict, save_weights

__all__ = [
    "CHECKPOINT_NAME",
    "Callback",
    "DataSplit",
    "Dataset",
    "DatasetError",
    "DatasetInfo",
    "EpochEvent",
    "Event",
    "FailedEvent",
    "FinishedEvent",
    "IncompatibleDataError",
    "JsonlMetricsWriter",
    "MetricTracker",
    "NoticeEvent",
    "PausedEvent",
    "RunControl",
    "RunResult",
    "StepEvent",
    "TextProgress",
    "TrainConfig",
    "TrainError",
    "Trainer",
    "WeightLoadReport",
    "check_inputs",
    "check_target",
    "choose_precision",
    "compute_loss",
    "configure_cpu_threads",
    "download_mnist",
    "list_datasets",
    "load_checkpoint",
    "load_dataset",
    "load_weights",
    "make_trainer",
    "read_state_dict",
    "resolve_device",
    "resolve_run",
    "save_checkpoint",
    "save_weights",
    "target_warnings",
    "user_data_dir",
]
