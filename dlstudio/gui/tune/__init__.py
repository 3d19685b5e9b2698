"""Hyper-parameter search from the editor: Run › Tune… opens :class:`TuneDialog` (space, trials,
a live :class:`TrialPlot`, Apply Best as one undoable edit); :class:`TuneWorker` runs the study
on its own thread."""

from __future__ import annotations

from dlstudio.gui.tune.dialog import TuneDialog, suggested_space
from dlstudio.gui.tune.install import TuneLauncher, install_tune_ui
from dlstudio.gui.tune.plot import TrialPlot
from dlstudio.gui.tune.worker import TuneOutcome, TunePrepared, TuneRequest, TuneWorker

__all__ = [
    "TrialPlot",
    "TuneDialog",
    "TuneLauncher",
    "TuneOutcome",
    "TunePrepared",
    "TuneRequest",
    "TuneWorker",
    "install_tune_ui",
    "suggested_space",
]
