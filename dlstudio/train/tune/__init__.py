"""Hyper-parameter search with Optuna over a project's training settings and layer parameters.

Typical use (the ``tune`` command does exactly this)::

    dims = parse_space(["lr=1e-4:1e-1:log", "fc1.units=8:128"], graph)
    tuner = Tuner(graph, dims, folder, TuneSettings(trials=20))
    study = tuner.run()
    apply_command(graph, dims, study.best_params).do(graph)   # or push it on an undo stack
"""

from __future__ import annotations

from dlstudio.train.tune.report import state_name, trial_value, trials_table
from dlstudio.train.tune.space import (
    TRAINING_KINDS,
    Dimension,
    NodeTarget,
    SpaceError,
    applied,
    apply_command,
    parse_dimension,
    parse_space,
    resolve_node,
)
from dlstudio.train.tune.study import (
    STUDY_FILE,
    TrialEpoch,
    TrialFinished,
    TrialStarted,
    TuneControl,
    TuneError,
    TuneEvent,
    Tuner,
    TuneSettings,
    best_trial,
    default_storage,
    direction_of,
)

__all__ = [
    "STUDY_FILE",
    "TRAINING_KINDS",
    "Dimension",
    "NodeTarget",
    "SpaceError",
    "TrialEpoch",
    "TrialFinished",
    "TrialStarted",
    "TuneControl",
    "TuneError",
    "TuneEvent",
    "TuneSettings",
    "Tuner",
    "applied",
    "apply_command",
    "best_trial",
    "default_storage",
    "direction_of",
    "parse_dimension",
    "parse_space",
    "resolve_node",
    "state_name",
    "trial_value",
    "trials_table",
]
