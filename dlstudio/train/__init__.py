"""Training: data sets, the Trainer, metrics, checkpoints and weights. Knows nothing of Qt.

Typical use (the command line does exactly this)::

    config, dataset = resolve_run(graph.metadata.get("training"), epochs=3)
    trainer = make_trainer(compile_graph(graph), config, callbacks=[on_event],
                           control=RunControl(), checkpoint_dir=out)
    result = trainer.run(dataset)   # or trainer.run(dataset, resume_from=out / "checkpoint.pt")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "load_checkpoint": "dlstudio.train.checkpoint",
    "save_checkpoint": "dlstudio.train.checkpoint",
    "check_inputs": "dlstudio.train.compat",
    "check_target": "dlstudio.train.compat",
    "target_warnings": "dlstudio.train.compat",
    "TrainConfig": "dlstudio.train.config",
    "Dataset": "dlstudio.train.data",
    "DatasetInfo": "dlstudio.train.data",
    "DataSplit": "dlstudio.train.data",
    "download_cifar": "dlstudio.train.data",
    "download_mnist": "dlstudio.train.data",
    "DownloadCancelled": "dlstudio.train.data",
    "list_datasets": "dlstudio.train.data",
    "load_dataset": "dlstudio.train.data",
    "user_data_dir": "dlstudio.train.data",
    "choose_precision": "dlstudio.train.devices",
    "configure_cpu_threads": "dlstudio.train.devices",
    "resolve_device": "dlstudio.train.devices",
    "DatasetError": "dlstudio.train.errors",
    "IncompatibleDataError": "dlstudio.train.errors",
    "TrainError": "dlstudio.train.errors",
    "Callback": "dlstudio.train.events",
    "EpochEvent": "dlstudio.train.events",
    "Event": "dlstudio.train.events",
    "FailedEvent": "dlstudio.train.events",
    "FinishedEvent": "dlstudio.train.events",
    "NoticeEvent": "dlstudio.train.events",
    "PausedEvent": "dlstudio.train.events",
    "RunControl": "dlstudio.train.events",
    "StepEvent": "dlstudio.train.events",
    "MetricTracker": "dlstudio.train.objectives",
    "compute_loss": "dlstudio.train.objectives",
    "JsonlMetricsWriter": "dlstudio.train.reporting",
    "TextProgress": "dlstudio.train.reporting",
    "RunResult": "dlstudio.train.run_state",
    "make_trainer": "dlstudio.train.session",
    "resolve_run": "dlstudio.train.session",
    "CHECKPOINT_NAME": "dlstudio.train.trainer",
    "Trainer": "dlstudio.train.trainer",
    "WeightsReport": "dlstudio.compile.weights",
    "load_weights": "dlstudio.compile.weights",
    "read_state_dict": "dlstudio.compile.weights",
    "save_weights": "dlstudio.compile.weights",
}
"""Public name -> the module that defines it. Loaded on first use (PEP 562), so importing a
submodule such as ``dlstudio.train.data_paths`` does not import torch."""

if TYPE_CHECKING:
    from dlstudio.compile.weights import WeightsReport, load_weights, read_state_dict, save_weights
    from dlstudio.train.checkpoint import load_checkpoint, save_checkpoint
    from dlstudio.train.compat import check_inputs, check_target, target_warnings
    from dlstudio.train.config import TrainConfig
    from dlstudio.train.data import (
        Dataset,
        DatasetInfo,
        DataSplit,
        DownloadCancelled,
        download_cifar,
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

__all__ = [
    "CHECKPOINT_NAME",
    "Callback",
    "DataSplit",
    "Dataset",
    "DatasetError",
    "DatasetInfo",
    "DownloadCancelled",
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
    "WeightsReport",
    "check_inputs",
    "check_target",
    "choose_precision",
    "compute_loss",
    "configure_cpu_threads",
    "download_cifar",
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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
