"""A user builds LeNet-5 on an empty canvas, sees 61,706 parameters, and undoes it all."""

from __future__ import annotations

import itertools

from PySide6.QtCore import QPointF

from dlstudio.core import dumps_project
from tests.gui import fixtures_window
from tests.gui.fixtures_window import (
    click_node,
    double_click_palette,
    drag_wire,
    drop_from_palette,
    type_into,
)

window = fixtures_window.window
data_dir = fixtures_window.data_dir


SPACING = 140.0

# (layer type, {parameter: text typed in the properties panel})
LENET5 = [
    ("input", {}),
    ("conv2d", {"out_channels": "6", "kernel_size": "5", "padding": "2"}),
    ("relu", {}),
    ("maxpool2d", {"kernel_size": "2", "stride": "2"}),
    ("conv2d", {"out_channels": "16", "kernel_size": "5, 5"}),
    ("relu", {}),
    ("maxpool2d", {"kernel_size": "2", "stride": "2"}),
    ("flatten", {}),
    ("dense", {"units": "120"}),
    ("relu", {}),
    ("dense", {"units": "84"}),
    ("relu", {}),
    ("dense", {"units": "10"}),
    ("output", {}),
]


def test_build_lenet5_by_hand_then_undo_everything(window, qtbot):
    empty = dumps_project(window.document.graph)
    ids: list[str] = []
    for index, (type_id, _params) in enumerate(LENET5):
        where = QPointF(0.0, index * SPACING)
        if index == 0:
            ids.append(drop_from_palette(window, "input", where))  # drag from the palette
        else:
            window.view.centerOn(where)  # the user scrolls down, then double-clicks
            ids.append(double_click_palette(window, type_id))
    assert len(window.document.graph) == len(LENET5)

    for src, dst in itertools.pairwise(ids):
        drag_wire(window, src, dst)
    assert len(window.document.graph.edges) == len(LENET5) - 1

    for node_id, (_type_id, params) in zip(ids, LENET5, strict=True):
        if not params:
            continue
        click_node(window, node_id)
        assert window.properties.node_id == node_id
        for name, text in params.items():
            type_into(window.properties.editors[name].editor, text)
            assert window.properties.editors[name].error is None

    window.document.reanalyze()
    analysis = window.document.analysis
    assert not analysis.has_errors, [d.message for d in analysis.errors]
    assert analysis.total_params == 61_706
    assert "61,706" in window.summary.totals.text()
    assert window.summary.top_level_items()[-1].text(3) == "61,706"
    assert window.isWindowModified()

    undo = window.action_registry.undo
    steps = 0
    while undo.isEnabled():
        undo.trigger()
        steps += 1
    assert steps >= len(LENET5) * 2
    assert dumps_project(window.document.graph) == empty
    assert len(window.scene.node_items()) == 0
    assert not window.isWindowModified()
