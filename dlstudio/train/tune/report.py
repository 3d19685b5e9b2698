"""The table of a study's trials, as rows of text (the command line prints it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optuna

from dlstudio.train.tune.space import Dimension

_STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "fail", "RUNNING": "running"}


def state_name(trial: optuna.trial.FrozenTrial) -> str:
    """``complete``, ``pruned``, ``fail``, ``running`` or ``waiting``."""
    return _STATES.get(trial.state.name, trial.state.name.lower())


def trial_value(trial: optuna.trial.FrozenTrial) -> float | None:
    """The trial's result: its value, or for a pruned trial the last reported epoch value."""
    if trial.value is not None:
        return float(trial.value)
    if trial.intermediate_values:
        return float(trial.intermediate_values[max(trial.intermediate_values)])
    return None


def format_value(value: Any) -> str:
    """A parameter or metric for the table: floats to 4 significant digits."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def trials_table(study: optuna.Study, dims: Sequence[Dimension], metric: str) -> list[str]:
    """Lines of the table: trial number, state, each searched value, the metric and epochs;
    the best trial is marked with ``*``."""
    targets = [d.target for d in dims]
    for trial in study.trials:  # values another worker searched that this one did not
        targets += [name for name in trial.params if name not in targets]
    best = None
    if any(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials):
        best = study.best_trial.number
    header = ["trial", "state", *targets, metric, "epochs"]
    rows = [header]
    for trial in study.trials:
        epochs = len(trial.intermediate_values)
        number = f"{trial.number}{' *' if trial.number == best else ''}"
        rows.append(
            [
                number,
                state_name(trial),
                *(format_value(trial.params.get(t)) for t in targets),
                format_value(trial_value(trial)),
                str(epochs),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for index, row in enumerate(rows):
        cells = [
            c.rjust(w) if i >= 2 else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines
