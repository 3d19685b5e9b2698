"""Checking the chosen data set against the drawing before training: in the background on
every change, and at once when Train is pressed.

The check loads the data set as a run would (:func:`dlstudio.train.session.resolve_project_run`), compares it
with the analysed Input and Output nodes (:func:`dlstudio.train.data_fit.data_diagnostics`,
each problem with its fixes) and builds the preview (a few samples, shapes, class counts).
Results are kept per (training settings, drawing), so Train after an idle moment costs nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shiboken6
import torch
from PySide6.QtCore import QObject, QTimer, Signal

from dlstudio.analysis import AnalysisResult, Diagnostic
from dlstudio.core import GraphEvent, LayerGraph
from dlstudio.core.tensor_spec import format_shape
from dlstudio.gui.document import Document
from dlstudio.gui.workers import TaskHandle, run_in_thread
from dlstudio.train.data import Dataset
from dlstudio.train.data_fit import data_diagnostics
from dlstudio.train.errors import DLStudioError
from dlstudio.train.session import resolve_project_run

PREVIEW_SAMPLES = 5
CHECK_DELAY_MS = 400
"""Quiet time after the last edit before the data set is checked again."""


@dataclass(frozen=True)
class Sample:
    """One previewed sample: an image (uint8, H x W or H x W x 3) or a line of text, and its
    label."""

    label: str
    image: np.ndarray | None = None
    text: str = ""


@dataclass(frozen=True)
class DataReport:
    """What the check found for one (settings, drawing) pair."""

    key: tuple[Any, ...]
    error: str = ""
    """The data set could not be loaded (missing file, not downloaded, bad option)."""
    dataset: str = ""
    problems: tuple[Diagnostic, ...] = ()
    summary: str = ""
    shapes: str = ""
    classes: str = ""
    samples: tuple[Sample, ...] = field(default_factory=tuple)

    @property
    def errors(self) -> list[Diagnostic]:
        """The problems that stop training."""
        return [p for p in self.problems if p.is_error]


def check_data(
    key: tuple[Any, ...],
    graph: LayerGraph,
    analysis: AnalysisResult,
    base_dir: Path | None,
) -> DataReport:
    """Load the data set of ``graph``'s training settings and check it (any thread)."""
    training = graph.metadata.get("training")
    if not isinstance(training, dict) or not training.get("dataset"):
        return DataReport(key)
    try:
        config, dataset = resolve_project_run(graph.metadata, base_dir)
    except (DLStudioError, ValueError, OSError) as exc:
        return DataReport(key, error=str(exc), dataset=str(training.get("dataset")))
    problems: tuple[Diagnostic, ...] = ()
    if not analysis.has_errors:  # shapes of a broken drawing say nothing about the data
        problems = tuple(data_diagnostics(graph, analysis, config, dataset))
    return DataReport(
        key,
        dataset=config.dataset or "",
        problems=problems,
        summary=f"{len(dataset):,} samples"
        + (f" (+{len(dataset.test):,} test)" if dataset.test else ""),
        shapes=_shapes(dataset),
        classes=_classes(dataset),
        samples=_samples(dataset),
    )


def _shapes(dataset: Dataset) -> str:
    names = dataset.input_names or [f"input {i + 1}" for i in range(len(dataset.input_specs))]
    parts = [
        f"{name} {format_shape(('N', *spec.shape))} {spec.dtype}"
        for name, spec in zip(names, dataset.input_specs, strict=False)
    ]
    target = dataset.data.target
    parts.append(f"target {format_shape(('N', *target.shape[1:]))} {dataset.target_kind}")
    return " · ".join(parts)


def _classes(dataset: Dataset) -> str:
    if dataset.target_kind != "class" or not dataset.num_classes:
        return ""
    counts = torch.bincount(dataset.data.target.long(), minlength=dataset.num_classes).tolist()
    names = dataset.class_names or [str(i) for i in range(len(counts))]
    shown = " · ".join(
        f"{names[i] if i < len(names) else i}: {n}" for i, n in enumerate(counts[:20])
    )
    more = f" · … ({len(counts)} classes)" if len(counts) > 20 else ""
    return f"{len(counts)} classes: {shown}{more}"


def _label(dataset: Dataset, target: torch.Tensor) -> str:
    if dataset.target_kind == "class":
        index = int(target)
        names = dataset.class_names or []
        return names[index] if index < len(names) else str(index)
    values = target.flatten()[:4].tolist()
    return ", ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in values)


def _samples(dataset: Dataset) -> tuple[Sample, ...]:
    if not dataset.data.inputs:
        return ()
    x = dataset.data.inputs[0][:PREVIEW_SAMPLES]
    y = dataset.data.target[:PREVIEW_SAMPLES]
    found = []
    for item, target in zip(x, y, strict=False):
        image = _as_image(item)
        label = _label(dataset, target)
        if image is not None:
            found.append(Sample(label, image))
        else:
            found.append(Sample(label, text=_as_text(dataset, item)))
    return tuple(found)


def _as_image(item: torch.Tensor) -> np.ndarray | None:
    if not item.is_floating_point():
        return None
    if item.ndim == 1:
        side = math.isqrt(item.numel())
        if side < 8 or side * side != item.numel():
            return None
        item = item.reshape(1, side, side)
    if item.ndim != 3 or item.shape[0] not in (1, 3):
        return None
    low, high = float(item.min()), float(item.max())
    scaled = (item - low) / (high - low) if high > low else torch.zeros_like(item)
    pixels = (scaled * 255).round().to(torch.uint8)
    pixels = pixels[0] if pixels.shape[0] == 1 else pixels.permute(1, 2, 0)
    return np.ascontiguousarray(pixels.numpy())


def _as_text(dataset: Dataset, item: torch.Tensor) -> str:
    values = item.flatten()[:12].tolist()
    if dataset.vocab and not item.is_floating_point():
        words = [dataset.vocab[v] if 0 <= v < len(dataset.vocab) else str(v) for v in values]
        return " ".join(w for w in words if w not in ("<pad>", "[PAD]"))
    return ", ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in values)


class DataCheck(QObject):
    """Keeps a :class:`DataReport` for the document's current data set and drawing."""

    report_ready = Signal(object)
    """A fresh :class:`DataReport` (on the GUI thread)."""

    def __init__(self, document: Document, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.report: DataReport | None = None
        self.task: TaskHandle | None = None
        self.wanted: Callable[[], bool] = lambda: True
        """Whether a background check is worth its cost now (the panel is on screen)."""
        self.forced = False
        """Check in the background even when not :attr:`wanted` (Train waits for it)."""
        self._structure = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(CHECK_DELAY_MS)
        self._timer.timeout.connect(self.refresh)
        document.graph_event.connect(self._on_document_graph_event)
        document.reset.connect(self._on_document_reset)

    def key(self) -> tuple[Any, ...]:
        """What a report depends on: the training settings, the drawing, the project folder."""
        training = self.document.graph.metadata.get("training")
        path = self.document.path
        settings = json.dumps(training, sort_keys=True, default=str)
        return (id(self.document.graph), self._structure, settings, str(path or ""))

    def current(self) -> DataReport | None:
        """The report for the current settings and drawing, if one has arrived."""
        report = self.report
        return report if report is not None and report.key == self.key() else None

    def check_now(self) -> DataReport:
        """The current report, computed here and now when none is ready (Train pressed)."""
        report = self.current()
        if report is None:
            self._timer.stop()
            report = check_data(self.key(), *self._inputs())
            self._accept(report)
        return report

    def refresh(self) -> TaskHandle | None:
        """Check again in the background (after an edit settled), if anyone looks."""
        if not (self.wanted() or self.forced):  # a hidden panel: showing it or Train checks
            return None
        if self.task is not None:  # one at a time: the running one re-checks when it ends
            return self.task
        key = self.key()
        graph, analysis, base = self._inputs()
        self.task = run_in_thread(
            lambda: check_data(key, graph, analysis, base), self._on_task_done, self._on_task_failed
        )
        return self.task

    def schedule(self) -> None:
        """Check again once edits have been quiet for a moment."""
        self._timer.start()

    def _inputs(self) -> tuple[LayerGraph, AnalysisResult, Path | None]:
        path = self.document.path
        return (
            self.document.graph.copy(),
            self.document.analysis,
            (path.resolve().parent if path else None),
        )

    def _on_task_done(self, report: DataReport) -> None:
        if not shiboken6.isValid(self):  # the window closed while the check ran
            return
        self.task = None
        self._accept(report)
        if report.key != self.key():
            self.schedule()

    def _on_task_failed(self, exc: BaseException, _trace: str) -> None:
        if not shiboken6.isValid(self):
            return
        self.task = None
        self._accept(DataReport(self.key(), error=f"could not check the data set: {exc}"))

    def _accept(self, report: DataReport) -> None:
        self.report = report
        self.report_ready.emit(report)

    def _on_document_graph_event(self, event: GraphEvent) -> None:
        if event.kind == GraphEvent.NODE_CHANGED and event.detail == "position":
            return
        if event.kind != GraphEvent.METADATA_CHANGED:
            self._structure += 1
        self.schedule()

    def _on_document_reset(self) -> None:
        self._structure += 1
        self.schedule()
