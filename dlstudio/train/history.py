"""Run history on disk: every run keeps its graph snapshot, settings, metrics and checkpoint.

Layout under :func:`runs_dir` (``<user data dir>/runs``, the data dir overridable with
``DLSTUDIO_DATA_DIR``)::

    runs/<run id>/model.json          the graph as it was at Start (a normal project file)
    runs/<run id>/run.json            settings, status, step and epoch curves
    runs/<run id>/checkpoint.pt       the trainer's checkpoint (resumable)
    runs/<run id>/weights.safetensors the trained weights at the end of the run
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from dlstudio.core import LayerGraph, load_project, save_project
from dlstudio.core.files import write_text_atomic
from dlstudio.train.data import user_data_dir
from dlstudio.train.events import EpochEvent, StepEvent

RUN_FILE = "run.json"
MODEL_FILE = "model.json"
WEIGHTS_FILE = "weights.safetensors"


def runs_dir() -> Path:
    """The folder holding one sub-folder per training run."""
    return user_data_dir() / "runs"


@dataclass
class RunRecord:
    """One training run: what was trained, with which settings, and how it went."""

    run_id: str
    folder: Path
    started: datetime
    model_name: str
    settings: dict[str, Any]
    status: str = "running"
    steps: list[tuple[int, float]] = field(default_factory=list)
    """(step, training loss) as reported."""
    epochs: list[dict[str, Any]] = field(default_factory=list)
    """One entry per epoch: ``{"epoch", "step", "train": {...}, "val": {...}, "seconds"}``."""
    lrs: list[tuple[int, float]] = field(default_factory=list)
    best: dict[str, float] = field(default_factory=dict)
    checkpoint: str | None = None
    message: str = ""
    trial: dict[str, Any] | None = None
    """For a trial of a hyper-parameter search: ``{"study", "number", "params"}``."""

    @property
    def label(self) -> str:
        """A short name for lists and plot legends: time, model and outcome."""
        label = f"{self.started:%H:%M:%S} {self.model_name}"
        if self.trial:
            label += f" (trial {self.trial.get('number')})"
        return label

    @property
    def weights_path(self) -> Path:
        """Where the trained weights are (exists once the run ended with weights)."""
        return self.folder / WEIGHTS_FILE

    @property
    def graph_path(self) -> Path:
        """The snapshot of the graph this run trained."""
        return self.folder / MODEL_FILE

    def load_graph(self) -> LayerGraph:
        """The graph snapshot, read back from disk."""
        return load_project(self.graph_path)

    def add_step(self, event: StepEvent) -> None:
        """Record a step report."""
        self.steps.append((event.step, event.loss))
        self.lrs.append((event.step, event.lr))

    def add_epoch(self, event: EpochEvent) -> None:
        """Record an epoch's metrics."""
        self.epochs.append(
            {
                "epoch": event.epoch,
                "step": event.step,
                "train": dict(event.train),
                "val": dict(event.val),
                "seconds": event.seconds,
                "samples_per_s": event.samples_per_s,
            }
        )

    def summary(self) -> str:
        """One line: outcome, epochs and the last epoch's metrics, saying which split and epoch
        they are, and that epoch's samples/s."""
        last = self.epochs[-1] if self.epochs else None
        split = "val" if (last or {}).get("val") else "train"
        metrics = (last or {}).get(split) or {}
        shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())
        if shown and last is not None:
            shown = f"epoch {last['epoch']} (last) {split} {shown}"
            if last.get("samples_per_s"):
                shown += f", {last['samples_per_s']:,.0f} samples/s"
        return f"{self.status}, {len(self.epochs)} epoch(s)" + (f", {shown}" if shown else "")

    def to_json(self) -> dict[str, Any]:
        """The record as plain JSON values."""
        return {
            "run_id": self.run_id,
            "started": self.started.isoformat(timespec="seconds"),
            "model_name": self.model_name,
            "settings": self.settings,
            "status": self.status,
            "steps": self.steps,
            "lrs": self.lrs,
            "epochs": self.epochs,
            "best": self.best,
            "checkpoint": self.checkpoint,
            "message": self.message,
            **({"trial": self.trial} if self.trial else {}),
        }

    @classmethod
    def from_json(cls, folder: Path, data: dict[str, Any]) -> RunRecord:
        """Read a record written by :meth:`to_json`."""
        return cls(
            run_id=str(data["run_id"]),
            folder=folder,
            started=datetime.fromisoformat(data["started"]),
            model_name=str(data.get("model_name", "")),
            settings=dict(data.get("settings", {})),
            status=str(data.get("status", "unknown")),
            steps=[(int(s), float(v)) for s, v in data.get("steps", [])],
            lrs=[(int(s), float(v)) for s, v in data.get("lrs", [])],
            epochs=list(data.get("epochs", [])),
            best=dict(data.get("best", {})),
            checkpoint=data.get("checkpoint"),
            message=str(data.get("message", "")),
            trial=dict(data["trial"]) if isinstance(data.get("trial"), dict) else None,
        )


class RunStore:
    """Creates, saves and lists the runs under a folder (default :func:`runs_dir`)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else runs_dir()

    def create(self, graph: LayerGraph, settings: dict[str, Any], started: datetime) -> RunRecord:
        """A new run folder holding the graph snapshot; the record is saved at once."""
        base = f"run-{started:%Y%m%d-%H%M%S}"
        folder = self.root / base
        number = 1
        while folder.exists():
            number += 1
            folder = self.root / f"{base}-{number}"
        folder.mkdir(parents=True)
        save_project(graph, folder / MODEL_FILE)
        record = RunRecord(folder.name, folder, started, graph.name or "model", dict(settings))
        self.save(record)
        return record

    def save(self, record: RunRecord) -> None:
        """Write ``run.json`` atomically (:func:`dlstudio.core.files.write_text_atomic`: fsync,
        mode kept, symlinks written through, no temp file left)."""
        write_text_atomic(record.folder / RUN_FILE, json.dumps(record.to_json(), indent=1))

    def load_all(self) -> list[RunRecord]:
        """Every readable run, oldest first; unreadable folders are skipped."""
        if not self.root.is_dir():
            return []
        records = []
        for folder in sorted(self.root.iterdir()):
            try:
                data = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
                records.append(RunRecord.from_json(folder, data))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        records.sort(key=lambda r: r.started)
        return records
