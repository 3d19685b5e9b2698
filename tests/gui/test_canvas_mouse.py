"""Mouse and keyboard on the canvas: drawing wires, dragging nodes, zoom, pan and menus."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QGuiApplication, QWheelEvent
from PySide6.QtTest import QTest

from dlstudio.core import Edge, PortRef, dumps_project
from dlstudio.gui.canvas.menus import context_menu

LEFT = Qt.MouseButton.LeftButton


def _port_point(view, scene, node_id: str, port: str, is_output: bool) -> QPoint:
    item = scene.node_item(node_id).ports[(port, is_output)]
    return view.mapFromScene(item.scenePos())


def _drag(view, start: QPoint, end: QPoint, steps: int = 8, modifier=Qt.NoModifier) -> None:
    viewport = view.viewport()
    QTest.mousePress(viewport, LEFT, modifier, start)
    for i in range(1, steps + 1):
        p = start + (end - start) * (i / steps)
        QTest.mouseMove(viewport, p)
    QTest.mouseRelease(viewport, LEFT, modifier, end)


def _ids(graph, *names):
    return [graph.node_by_name(n).id for n in names]


def test_drag_from_output_to_input_connects(canvas):
    document, scene, view = canvas
    graph = document.graph
    (fc3,) = _ids(graph, "fc3")
    new = scene.add_layer(
        "softmax", scene.node_item(fc3).sceneBoundingRect().center() + QPointF(260, 0)
    )
    view.centerOn(scene.node_item(fc3))
    start = _port_point(view, scene, fc3, "out", True)
    end = _port_point(view, scene, new, "in", False)
    _drag(view, start, end)
    assert Edge(PortRef(fc3, "out"), PortRef(new, "in")) in graph.edges
    document.undo()
    assert Edge(PortRef(fc3, "out"), PortRef(new, "in")) not in graph.edges


def test_drag_from_input_to_output_connects(canvas):
    document, scene, view = canvas
    graph = document.graph
    (fc3,) = _ids(graph, "fc3")
    new = scene.add_layer(
        "softmax", scene.node_item(fc3).sceneBoundingRect().center() + QPointF(260, 0)
    )
    view.centerOn(scene.node_item(fc3))
    _drag(
        view, _port_point(view, scene, new, "in", False), _port_point(view, scene, fc3, "out", True)
    )
    assert Edge(PortRef(fc3, "out"), PortRef(new, "in")) in graph.edges


def test_refused_drag_shows_reason_and_changes_nothing(canvas, qtbot):
    document, scene, view = canvas
    graph = document.graph
    conv1, relu1 = _ids(graph, "conv1", "relu1")
    view.centerOn(scene.node_item(conv1))
    before = dumps_project(graph)
    messages: list[str] = []
    scene.status_message.connect(messages.append)
    # Output to output.
    _drag(
        view,
        _port_point(view, scene, conv1, "out", True),
        _port_point(view, scene, relu1, "out", True),
    )
    assert any("two outputs" in m for m in messages)
    # Into an input that already has a wire: dropping on the node's body picks that input.
    body = view.mapFromScene(scene.node_item(relu1).sceneBoundingRect().center())
    _drag(view, _port_point(view, scene, relu1, "out", True), body)
    assert any("itself" in m for m in messages)
    assert dumps_project(graph) == before
    assert not [i for i in scene.items() if type(i).__name__ == "TempWireItem"]


def test_drag_node_moves_it_on_the_grid_as_one_undo_step(canvas):
    document, scene, view = canvas
    graph = document.graph
    (conv2,) = _ids(graph, "conv2")
    item = scene.node_item(conv2)
    view.centerOn(item)
    old = graph.node(conv2).position
    start = view.mapFromScene(item.sceneBoundingRect().center() + QPointF(-30, 0))
    _drag(view, start, start + QPoint(133, 47), steps=10)
    x, y = graph.node(conv2).position
    assert (x, y) != old and x % 20 == 0 and y % 20 == 0
    assert item.pos() == QPointF(x, y)
    assert document.undo_stack.undo_text == "move node"
    document.undo()
    assert graph.node(conv2).position == old and item.pos() == QPointF(*old)
    assert not document.undo_stack.can_undo


def test_drag_moves_whole_selection_and_wires_follow(canvas):
    document, scene, view = canvas
    graph = document.graph
    ids = _ids(graph, "conv2", "relu2")
    scene.select_nodes(ids)
    item = scene.node_item(ids[0])
    wire = scene.edge_item(graph.edges_into(ids[0])[0])
    before_path = wire.path().pointAtPercent(1.0)
    view.centerOn(item)
    start = view.mapFromScene(item.sceneBoundingRect().center() + QPointF(-30, 0))
    olds = [graph.node(i).position for i in ids]
    _drag(view, start, start + QPoint(200, 0))
    news = [graph.node(i).position for i in ids]
    assert news[0][0] - olds[0][0] == news[1][0] - olds[1][0] > 0
    assert wire.path().pointAtPercent(1.0) != before_path
    assert scene.selected_node_ids() == ids


def test_click_and_ctrl_click_and_rubber_band_select(canvas):
    document, scene, view = canvas
    graph = document.graph
    a, b = _ids(graph, "conv1", "relu1")
    view.centerOn(scene.node_item(a))
    pa = view.mapFromScene(scene.node_item(a).sceneBoundingRect().center() + QPointF(-40, 0))
    pb = view.mapFromScene(scene.node_item(b).sceneBoundingRect().center() + QPointF(-40, 0))
    QTest.mouseClick(view.viewport(), LEFT, Qt.NoModifier, pa)
    assert scene.selected_node_ids() == [a]
    QTest.mouseClick(view.viewport(), LEFT, Qt.KeyboardModifier.ControlModifier, pb)
    assert scene.selected_node_ids() == [a, b]
    QTest.mouseClick(view.viewport(), LEFT, Qt.KeyboardModifier.ControlModifier, pa)
    assert scene.selected_node_ids() == [b]
    # Rubber band from empty space around both nodes.
    rect = scene.node_item(a).sceneBoundingRect() | scene.node_item(b).sceneBoundingRect()
    corner = view.mapFromScene(rect.topLeft() + QPointF(-150, -10))
    _drag(view, corner, view.mapFromScene(rect.bottomRight() + QPointF(10, 10)))
    assert set(scene.selected_node_ids()) >= {a, b}


def test_delete_key_removes_selection(canvas, qtbot):
    document, scene, view = canvas
    graph = document.graph
    ids = _ids(graph, "relu1", "pool1")
    scene.select_nodes(ids)
    view.activateWindow()
    view.setFocus()
    qtbot.waitUntil(view.hasFocus)
    QTest.keyClick(view, Qt.Key.Key_Delete)
    assert all(i not in graph for i in ids)
    document.undo()
    assert all(i in graph for i in ids)


def test_wheel_zooms_around_cursor_and_fit_all(canvas):
    _, scene, view = canvas
    anchor = QPointF(200, 150)
    before = view.mapToScene(anchor.toPoint())
    event = QWheelEvent(
        anchor,
        QPointF(view.viewport().mapToGlobal(anchor.toPoint())),
        QPoint(0, 0),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QGuiApplication.sendEvent(view.viewport(), event)
    assert view.zoom() > 1.3
    after = view.mapToScene(anchor.toPoint())
    assert abs(after.x() - before.x()) < 2 and abs(after.y() - before.y()) < 2
    view.fit_all()
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert visible.contains(scene.nodes_rect())
    assert view.zoom() <= 1.0
    view.set_zoom(100)
    assert view.zoom() == 4.0


def test_middle_drag_pans(canvas):
    _, _, view = canvas
    before = view.mapToScene(QPoint(100, 100))
    viewport = view.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.MiddleButton, Qt.NoModifier, QPoint(300, 300))
    QTest.mouseMove(viewport, QPoint(250, 260))
    QTest.mouseRelease(viewport, Qt.MouseButton.MiddleButton, Qt.NoModifier, QPoint(250, 260))
    after = view.mapToScene(QPoint(100, 100))
    assert round(after.x() - before.x()) == 50 and round(after.y() - before.y()) == 40


def test_context_menus_offer_the_right_actions(canvas):
    document, scene, _ = canvas
    graph = document.graph
    (conv1,) = _ids(graph, "conv1")
    node_menu = context_menu(scene, scene.node_item(conv1).sceneBoundingRect().center())
    names = {a.objectName() for a in node_menu.actions()}
    assert {"rename", "freeze", "duplicate", "delete", "help"} <= names
    next(a for a in node_menu.actions() if a.objectName() == "freeze").trigger()
    assert not graph.node(conv1).trainable
    edge = graph.edges_out_of(conv1)[0]
    wire_menu = context_menu(scene, scene.edge_item(edge).path().pointAtPercent(0.5))
    assert wire_menu.objectName() == "wire_menu"
    insert = wire_menu.findChild(type(wire_menu), "insert_layer")
    action = next(
        a
        for m in insert.findChildren(type(wire_menu))
        for a in m.actions()
        if a.objectName() == "insert_layer:batchnorm2d"
    )
    action.trigger()
    new = list(graph)[-1]
    assert new.type_id == "batchnorm2d" and len(graph.edges_into(new.id)) == 1
    canvas_menu = context_menu(scene, QPointF(-3000, -3000))
    assert canvas_menu.objectName() == "canvas_menu"
    add = canvas_menu.findChild(type(canvas_menu), "add_layer")
    dense = next(
        a
        for m in add.findChildren(type(canvas_menu))
        for a in m.actions()
        if a.objectName() == "add_layer:dense"
    )
    count = len(graph)
    dense.trigger()
    assert len(graph) == count + 1 and list(graph)[-1].type_id == "dense"


def test_standard_shortcuts_copy_paste_duplicate(canvas, qtbot):
    document, scene, view = canvas
    graph = document.graph
    scene.select_nodes(_ids(graph, "conv1", "relu1"))
    view.activateWindow()
    view.setFocus()
    qtbot.waitUntil(view.hasFocus)
    before = len(graph)
    QTest.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(view, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert len(graph) == before + 2
    QTest.keyClick(view, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert len(graph) == before + 4
    QTest.keyClick(view, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert len(scene.selected_node_ids()) == len(graph)


def test_space_drag_pans(canvas, qtbot):
    _, _, view = canvas
    view.activateWindow()
    view.setFocus()
    qtbot.waitUntil(view.hasFocus)
    before = view.mapToScene(QPoint(100, 100))
    QTest.keyPress(view, Qt.Key.Key_Space)
    viewport = view.viewport()
    QTest.mousePress(viewport, LEFT, Qt.NoModifier, QPoint(300, 300))
    QTest.mouseMove(viewport, QPoint(340, 330))
    QTest.mouseRelease(viewport, LEFT, Qt.NoModifier, QPoint(340, 330))
    QTest.keyRelease(view, Qt.Key.Key_Space)
    after = view.mapToScene(QPoint(100, 100))
    assert round(before.x() - after.x()) == 40 and round(before.y() - after.y()) == 30
