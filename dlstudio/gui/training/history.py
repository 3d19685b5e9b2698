"""Run history on disk; the record and store live in :mod:`dlstudio.train.history` (no Qt), so
the tuner writes its trials as ordinary runs too. Re-exported here for the training UI."""

from __future__ import annotations

from dlstudio.train.history import MODEL_FILE, RUN_FILE, WEIGHTS_FILE, RunRecord, RunStore, runs_dir

__all__ = ["MODEL_FILE", "RUN_FILE", "WEIGHTS_FILE", "RunRecord", "RunStore", "runs_dir"]
