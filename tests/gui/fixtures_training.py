"""Fixtures for training-UI tests: a window with the training UI in a private data dir, small
graphs, and waits on the controller's signals.

Use them from a test module with ``pytest_plugins = ["tests.gui.fixtures_training"]`` (the
module is then imported by pytest only, so its asserts are rewritten).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import graph_builders
import shiboken6
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox

from dlstudio.core import LayerGraph, load_project
from dlstudio.gui.canvas import GraphScene, GraphView
from dlstudio.gui.document import Document
from dlstudio.gui.training import TrainingController, install_training_ui
from dlstudio.layers.validation import check_node

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
RUN_TIMEOUT_MS = 60_000


def template(name: str, **training: Any) -> LayerGraph:
    """A template graph with some training settings overridden (e.g. ``epochs=1``)."""
    graph = load_project(TEMPLATES / f"{name}.json", node_checker=check_node)
    graph.metadata["training"] = {**graph.metadata.get("training", {}), **training}
    return graph


def iris_mlp(**training: Any) -> LayerGraph:
    """The iris MLP of graph_builders, set up to train on iris for one quick epoch."""
    graph = graph_builders.iris_mlp()
    graph.metadata["training"] = {
        "dataset": "iris",
        "epochs": 1,
        "batch_size": 16,
        "lr": 0.01,
        **training,
    }
    return graph


class TrainingWindow(QMainWindow):
    """A bare main window: document, canvas and nothing else but the training UI."""

    def __init__(self, graph: LayerGraph) -> None:
        super().__init__()
        self.document = Document(graph)
        self.scene = GraphScene(self.document)
        self.view = GraphView(self.scene)
        self.setCentralWidget(self.view)
        self.training_ui = install_training_ui(self)
        self.training: TrainingController = self.training_ui.controller
        self.events: list[Any] = []
        self.training.event_received.connect(self.events.append)

    def wait_event(self, qtbot, kind: type, check=None, timeout: int = RUN_TIMEOUT_MS) -> Any:
        """The first relayed event of ``kind`` passing ``check``, waiting for it if none came."""

        def matches(event: Any) -> bool:
            return isinstance(event, kind) and (check is None or check(event))

        def first() -> Any:
            return next((e for e in self.events if matches(e)), None)

        if first() is None:
            signal = self.training.event_received
            with qtbot.waitSignal(signal, timeout=timeout, check_params_cb=matches):
                pass
        return first()

    def wait_finished(self, qtbot, timeout: int = RUN_TIMEOUT_MS) -> Any:
        """Wait for the run's thread to end; the run's record."""
        training = self.training
        if training.waiting_for_data:  # Start checks the data set on a worker first
            qtbot.waitUntil(lambda: not training.waiting_for_data, timeout=timeout)
        if self.training.is_running:
            with qtbot.waitSignal(self.training.run_finished, timeout=timeout):
                pass
        return self.training.record


@pytest.fixture
def training_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private DLSTUDIO_DATA_DIR: runs never touch the user's data folder."""
    folder = tmp_path / "data"
    monkeypatch.setenv("DLSTUDIO_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def make_window(qtbot, training_data_dir: Path) -> Iterator[Callable[..., TrainingWindow]]:
    """``make_window("mlp-mnist", epochs=1)``: a shown window with the training UI on a template
    (or ``"iris-mlp"``, see :func:`iris_mlp`) with some training settings overridden; runs
    still going at teardown are stopped."""
    windows: list[TrainingWindow] = []

    def make(name: str, **training: Any) -> TrainingWindow:
        graph = iris_mlp(**training) if name == "iris-mlp" else template(name, **training)
        win = TrainingWindow(graph)
        win.resize(1300, 850)
        win.show()
        qtbot.waitExposed(win)
        windows.append(win)
        # The shown panel checks its data set on a worker; Start waits for that check, so a
        # test's start() begins the run at once only after it.
        win.training.panel.commit()  # the fields' form of the settings, as Start writes it
        check = win.training.data_check
        qtbot.waitUntil(lambda: check.current() is not None, timeout=RUN_TIMEOUT_MS)
        return win

    yield make
    for win in windows:
        if shiboken6.isValid(win):
            win.training.shutdown()
            win.close()
            win.deleteLater()
    # Destroy the windows now, through Qt. Left to Python's cycle collector, a window (with its
    # pyqtgraph scenes) would be deleted at a random later moment, possibly mid-way through
    # another test, and Qt may then call back into half-destroyed Python overrides.
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    windows.clear()


class MessageBoxes:
    """Stands in for QMessageBox in the training UI: records each box instead of showing it."""

    def __init__(self) -> None:
        self.shown: list[dict[str, str]] = []
        boxes = self

        class FakeBox:
            Icon = QMessageBox.Icon
            StandardButton = QMessageBox.StandardButton

            def __init__(self, _icon, title, text, *_args) -> None:
                self.record = {"title": title, "message": text, "details": ""}
                boxes.shown.append(self.record)

            def setDetailedText(self, text: str) -> None:
                self.record["details"] = text

            def setModal(self, _modal: bool) -> None:
                pass

            def open(self) -> None:
                pass

            @staticmethod
            def information(_parent, title, text, *_args) -> None:
                boxes.shown.append({"title": title, "message": text, "details": ""})

        self.fake = FakeBox

    def titles(self) -> list[str]:
        """The title of every box shown so far."""
        return [box["title"] for box in self.shown]


@pytest.fixture
def message_boxes(monkeypatch: pytest.MonkeyPatch) -> MessageBoxes:
    """Every message box the training UI opens (none is shown on screen)."""
    boxes = MessageBoxes()
    for module in ("controller", "after_run"):
        monkeypatch.setattr(f"dlstudio.gui.training.{module}.QMessageBox", boxes.fake)
    return boxes
