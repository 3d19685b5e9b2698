"""Guard against a PySide6 regression: 6.12.0 on Python 3.11 drops references to ``None`` on
QPainter calls, so after a few dozen redraws ``None`` is freed and the interpreter aborts. We pin
6.11.2; this test renders the canvas and a live pyqtgraph curve many times and checks that the
reference count of ``None`` never falls (it may rise)."""

from __future__ import annotations

import gc
import sys

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtGui import QImage, QPainter

from dlstudio.core import MoveNodes
from dlstudio.gui.canvas import GraphScene, GraphView
from dlstudio.gui.document import Document

FRAMES = 300


def _render(widget, image: QImage) -> None:
    painter = QPainter(image)
    try:
        widget.render(painter)
    finally:
        painter.end()


def _none_refs() -> int:
    gc.collect()
    return sys.getrefcount(None)


def test_rendering_does_not_leak_references_to_none(qtbot, lenet_graph):
    document = Document(lenet_graph)
    scene = GraphScene(document)
    view = GraphView(scene)
    qtbot.addWidget(view)
    view.resize(640, 480)
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.resize(480, 320)
    curve = plot.plot(pen="y")
    image = QImage(640, 480, QImage.Format.Format_ARGB32_Premultiplied)
    node_id = next(iter(document.graph.nodes))
    xs = np.arange(200, dtype=float)

    def frame(i: int) -> None:
        document.push(MoveNodes({node_id: (float(i % 50) * 4, 0.0)}), mergeable=True)
        view.zoom_by(1.01 if i % 20 < 10 else 1 / 1.01, QPointF(320, 240))
        _render(view, image)
        curve.setData(xs, np.sin(xs / 10 + i / 5))
        _render(plot, image)

    for i in range(10):  # warm up caches (fonts, pixmaps) before measuring
        frame(i)
    before = _none_refs()
    for i in range(FRAMES):
        frame(i)
    after = _none_refs()
    assert after >= before, f"references to None fell from {before} to {after} in {FRAMES} frames"
