"""Fixtures and helpers for main-window tests: a window in a private data dir, and the user's
gestures (palette double-click and drop, port-to-port mouse drags, typing into fields).

Import the fixtures into a test module: ``from tests.gui.fixtures_window import window``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QLineEdit, QMessageBox

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from dlstudio.core import LayerGraph
from dlstudio.gui.app import create_application
from dlstudio.gui.main_window import MainWindow

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((REPO_ROOT / "templates").glob("*.json"))


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private DLSTUDIO_DATA_DIR: recovery files and settings never touch the user's."""
    folder = tmp_path / "data"
    monkeypatch.setenv("DLSTUDIO_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def window(qtbot, data_dir: Path) -> Iterator[MainWindow]:
    """A shown main window with an empty document and a short autosave delay."""
    create_application()
    win = MainWindow(autosave_delay_ms=50)
    # Not qtbot.addWidget: pytest-qt would close it before this fixture's teardown, and an
    # edited document would then stop on the (modal) unsaved-changes prompt.
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    yield win
    dispose(win)


@pytest.fixture(scope="module")
def module_window(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MainWindow]:
    """One shown main window for a whole test module: building one takes about 0.4 s of CPU
    (the training and lens docks, their plots) and several seconds on a busy machine. Tests
    take it through ``shared_window``, which starts each of them on an empty document."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DLSTUDIO_DATA_DIR", str(tmp_path_factory.mktemp("data")))
        create_application()
        win = MainWindow(autosave_delay_ms=50)
        win.resize(1400, 900)
        win.show()
        assert QTest.qWaitForWindowExposed(win)
        yield win
        dispose(win)


@pytest.fixture
def shared_window(module_window: MainWindow, qtbot, data_dir: Path) -> Iterator[MainWindow]:
    """The module's window as ``window`` gives a new one: an empty untitled document with no
    history and nothing selected, the palette unfiltered. For modules whose tests change only
    the document and what shows it (docks, settings and files stay with ``window``)."""
    win = module_window
    win.document.undo_stack.set_clean()
    win.document.replace_graph(LayerGraph())
    win.palette_panel.search.clear()
    qtbot.wait(1)  # let the views take the new document before the test starts
    yield win
    win.document.undo_stack.set_clean()


def dispose(win: MainWindow) -> None:
    """Close a test's window and delete it now. Qt deletes a closed window (``deleteLater``)
    only when control returns to the event loop it was posted in, which never happens during a
    test run: every window of the run stayed alive, and each new one took longer to build
    (test_main_window_templates.py alone: 115 s before, 30 s with its windows deleted)."""
    win.document.undo_stack.set_clean()
    win.close()
    if win.training is not None:
        win.training.shutdown()  # a run still going ends before its thread is deleted
    win.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def answer_message_boxes(monkeypatch: pytest.MonkeyPatch, answer) -> list[tuple[str, str]]:
    """Make QMessageBox's static prompts return ``answer`` and record (title, text) of each."""
    seen: list[tuple[str, str]] = []

    def fake(_parent, title, text, *_args, **_kwargs):
        seen.append((title, text))
        return answer

    for name in ("warning", "question", "critical", "information"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(fake))
    return seen


# ------------------------------------------------------------------ gestures
def double_click_palette(win: MainWindow, type_id: str) -> str:
    """Double-click a layer in the palette; the new node's id."""
    tree = win.palette_panel.tree
    item = win.palette_panel.item_for(type_id)
    tree.scrollToItem(item)
    pos = tree.visualItemRect(item).center()
    before = set(win.document.graph.nodes)
    QTest.mouseClick(
        tree.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos
    )
    QTest.mouseDClick(
        tree.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos
    )
    added = set(win.document.graph.nodes) - before
    assert len(added) == 1, f"double-click on {type_id} added {added}"
    return added.pop()


def drop_from_palette(win: MainWindow, type_id: str, scene_pos: QPointF) -> str:
    """Drop a palette drag (its real mime payload) on the canvas at ``scene_pos``."""
    data = win.palette_panel.mime_data_for(type_id)
    viewport = win.view.viewport()
    pos = QPointF(win.view.mapFromScene(scene_pos))
    before = set(win.document.graph.nodes)
    for event_type in ("enter", "move", "drop"):
        if event_type == "enter":
            from PySide6.QtGui import QDragEnterEvent

            event = QDragEnterEvent(
                pos.toPoint(),
                Qt.DropAction.CopyAction,
                data,
                Qt.MouseButton.LeftButton,
                Qt.KeyboardModifier.NoModifier,
            )
        elif event_type == "move":
            from PySide6.QtGui import QDragMoveEvent

            event = QDragMoveEvent(
                pos.toPoint(),
                Qt.DropAction.CopyAction,
                data,
                Qt.MouseButton.LeftButton,
                Qt.KeyboardModifier.NoModifier,
            )
        else:
            event = QDropEvent(
                pos,
                Qt.DropAction.CopyAction,
                data,
                Qt.MouseButton.LeftButton,
                Qt.KeyboardModifier.NoModifier,
            )
        from PySide6.QtWidgets import QApplication

        QApplication.sendEvent(viewport, event)
    added = set(win.document.graph.nodes) - before
    assert len(added) == 1, f"dropping {type_id} added {added}"
    return added.pop()


def drag_wire(
    win: MainWindow, src_id: str, dst_id: str, src_port: str = "out", dst_port: str = "in"
) -> None:
    """Draw a wire with the mouse from an output port to an input port."""
    scene, view = win.scene, win.view
    start = scene.node_item(src_id).port_scene_pos(src_port, True)
    end = scene.node_item(dst_id).port_scene_pos(dst_port, False)
    view.centerOn((start + end) / 2)
    viewport = view.viewport()
    p0, p1 = view.mapFromScene(start), view.mapFromScene(end)
    left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QTest.mousePress(viewport, left, none, p0)
    middle = QPoint((p0.x() + p1.x()) // 2, (p0.y() + p1.y()) // 2)
    QTest.mouseMove(viewport, middle)
    QTest.mouseMove(viewport, p1)
    QTest.mouseRelease(viewport, left, none, p1)


def click_node(win: MainWindow, node_id: str) -> None:
    """Click a node's title to select it."""
    item = win.scene.node_item(node_id)
    centre = item.sceneBoundingRect().center()
    win.view.centerOn(centre)
    QTest.mouseClick(
        win.view.viewport(),
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        win.view.mapFromScene(centre),
    )


def type_into(widget, text: str) -> None:
    """Replace a field's text by typing, then press Enter (as a user edits a value)."""
    assert isinstance(widget, (QAbstractSpinBox, QLineEdit))
    widget.setFocus()
    QTest.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(widget, text)
    QTest.keyClick(widget, Qt.Key.Key_Return)
