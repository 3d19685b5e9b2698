"""Fixtures for GUI tests: an offscreen Qt platform and ready-made canvases."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import pytest

from dlstudio.core import LayerGraph, load_project
from dlstudio.layers.validation import check_node

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def load_template(name: str) -> LayerGraph:
    """A template graph by file stem (``lenet5``)."""
    return load_project(TEMPLATES / f"{name}.json", node_checker=check_node)


@pytest.fixture
def lenet_graph() -> LayerGraph:
    """LeNet-5 from the templates (a valid 14-node chain)."""
    return load_template("lenet5")


@pytest.fixture
def canvas(qtbot, lenet_graph):
    """``(document, scene, view)`` showing LeNet-5, the view shown at 1000 x 700."""
    from dlstudio.gui.canvas import GraphScene, GraphView
    from dlstudio.gui.document import Document

    document = Document(lenet_graph)
    scene = GraphScene(document)
    view = GraphView(scene)
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    qtbot.waitExposed(view)
    view.set_zoom(1.0)
    return document, scene, view


@pytest.fixture(autouse=True)
def _clear_clipboard():
    """Empty the clipboard after each test: mime data left on it at interpreter exit crashes
    the offscreen platform's teardown."""
    yield
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None:
        app.clipboard().clear()


@pytest.fixture(autouse=True)
def _no_unanswered_message_boxes(monkeypatch):
    """A QMessageBox prompt that a test does not answer would wait for a click forever (and a
    modal loop keeps pytest-timeout from interrupting it): fail at once, naming the prompt.
    Tests that expect a prompt patch it themselves (``answer_message_boxes``)."""
    from PySide6.QtWidgets import QMessageBox

    def unexpected(_parent, title, text, *_args, **_kwargs):
        raise AssertionError(f"unexpected message box {title!r}: {text}")

    for name in ("warning", "question", "critical", "information"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(unexpected))

    def unexpected_exec(box) -> int:
        raise AssertionError(f"unexpected message box {box.windowTitle()!r}: {box.text()}")

    monkeypatch.setattr(QMessageBox, "exec", unexpected_exec)
