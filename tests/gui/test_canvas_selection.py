"""Selecting on the canvas as desktop tools do: Ctrl+click and Shift+click add to the selection
(Ctrl+click on a selected layer takes it out), a plain click selects one layer."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

LEFT = Qt.MouseButton.LeftButton
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def _click(view, scene, node_id: str, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    item = scene.node_item(node_id)
    view.centerOn(item)
    # The title row: away from the ports (which start a wire) and from the badges.
    point = view.mapFromScene(item.sceneBoundingRect().topLeft()) + QPoint(30, 10)
    QTest.mouseClick(view.viewport(), LEFT, modifier, point)


def test_ctrl_and_shift_click_add_to_the_selection(canvas):
    document, scene, view = canvas
    graph = document.graph
    conv1, fc1, fc2 = (graph.node_by_name(n).id for n in ("conv1", "fc1", "fc2"))
    _click(view, scene, conv1)
    assert scene.selected_node_ids() == [conv1]
    _click(view, scene, fc1, CTRL)
    assert set(scene.selected_node_ids()) == {conv1, fc1}
    _click(view, scene, fc2, SHIFT)
    assert set(scene.selected_node_ids()) == {conv1, fc1, fc2}
    _click(view, scene, fc1, CTRL)  # Ctrl+click again: out of the selection
    assert set(scene.selected_node_ids()) == {conv1, fc2}
    _click(view, scene, fc1)
    assert scene.selected_node_ids() == [fc1]
