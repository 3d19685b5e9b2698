"""Zoomed out, nodes stay readable: a simplified box with the name drawn large."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QImage, QPainter

from dlstudio.gui.canvas import style
from dlstudio.gui.canvas.labels import name_lines
from dlstudio.gui.canvas.node_paint import _name_layout


def test_name_lines_split_before_a_word():
    assert name_lines("conv1") == [["conv1"]]
    assert name_lines("layer2_0_downsample_0")[1] == ["layer2_0_", "downsample_0"]
    assert name_lines("layer1_0_conv1")[1] == ["layer1_0_", "conv1"]


@pytest.mark.parametrize("lod", [0.2, 0.3, 0.45, 0.6])
@pytest.mark.parametrize("name", ["fc", "conv1", "layer1_0_conv1", "encoder_norm"])
def test_names_are_at_least_the_readable_size_on_screen(qapp, lod, name):
    lines, size, elided = _name_layout(name, lod)
    assert size * lod >= style.NAME_MIN_PX - 0.01
    assert size * lod <= style.NAME_MAX_PX + 0.01
    assert "".join(lines) == name
    if lod >= 0.3:
        assert not elided, f"{name} should fit its box at zoom {lod}"


def _bright_pixels(view, rect) -> int:
    image = QImage(view.viewport().size(), QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    view.render(painter, source=view.viewport().rect())
    painter.end()
    count = 0
    for x in range(int(rect.left()), int(rect.right())):
        for y in range(int(rect.top()), int(rect.bottom())):
            if QColor(image.pixel(x, y)).lightness() > 170:  # text, not the dark fill
                count += 1
    return count


def test_zoomed_out_node_still_draws_its_name(canvas):
    _document, scene, view = canvas
    item = scene.node_items()[0]
    for zoom in (0.25, 0.35):
        view.set_zoom(zoom)
        view.centerOn(item)
        rect = view.mapFromScene(item.sceneBoundingRect()).boundingRect()
        assert _bright_pixels(view, rect.adjusted(8, 4, -4, -4)) > 20, f"blank box at {zoom}"
