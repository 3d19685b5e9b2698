"""Files in the window: save/open round trip, bad files keep the work, recent files, the
unsaved-changes prompt, dropping a file, autosave and crash recovery."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from dlstudio.core import SetParam, dumps_project
from dlstudio.gui.main_window import MainWindow
from tests.gui import fixtures_window
from tests.gui.fixtures_window import REPO_ROOT, TEMPLATES, answer_message_boxes

window = fixtures_window.window
data_dir = fixtures_window.data_dir

LENET = next(p for p in TEMPLATES if p.stem == "lenet5")
Button = QMessageBox.StandardButton


def _edit(window: MainWindow) -> None:
    conv = window.document.graph.node_by_name("conv1")
    assert window.document.push(SetParam(conv.id, "out_channels", 8))


def _save_dialog_returns(monkeypatch, path: Path) -> None:
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(path), ""))
    )


def test_save_as_then_open_round_trip(window, tmp_path, monkeypatch):
    window.files.load_template(LENET, ask=False)
    _edit(window)
    assert window.isWindowModified()
    target = tmp_path / "mine"
    _save_dialog_returns(monkeypatch, target)
    assert window.files.save()  # no path yet: Save asks where
    saved = tmp_path / "mine.json"
    assert window.document.path == saved and saved.exists()
    assert not window.isWindowModified()
    assert window.windowTitle().startswith("mine.json")
    text = dumps_project(window.document.graph)

    window.files.new()
    assert len(window.document.graph) == 0
    assert window.files.open_path(saved)
    assert dumps_project(window.document.graph) == text
    assert window.files.recent_files()[0] == str(saved.resolve())
    recent_menu = window.action_registry.menus["recent"]
    assert recent_menu.actions()[0].text() == "mine.json"


def test_malformed_file_shows_error_and_keeps_work(window, tmp_path, monkeypatch):
    window.files.load_template(LENET, ask=False)
    _edit(window)
    before = dumps_project(window.document.graph)
    bad = tmp_path / "broken.json"
    bad.write_text('{"format": "dlstudio-project", "format_version": 1, "nodes": [{"id": 3}]}')
    seen = answer_message_boxes(monkeypatch, Button.Ok)
    assert not window.files.open_path(bad, ask=False)
    assert len(seen) == 1
    title, message = seen[0]
    assert title == "Could not open file"
    assert "broken.json" in message and "nodes" in message  # file and location
    assert dumps_project(window.document.graph) == before
    assert window.isWindowModified()


def test_close_with_unsaved_changes_asks(window, monkeypatch):
    window.files.load_template(LENET, ask=False)
    _edit(window)
    seen = answer_message_boxes(monkeypatch, Button.Cancel)
    assert not window.close()
    assert window.isVisible() and len(seen) == 1
    assert "unsaved changes" in seen[0][1]
    seen = answer_message_boxes(monkeypatch, Button.Discard)
    assert window.close()


def test_new_and_open_ask_before_discarding(window, monkeypatch, tmp_path):
    window.files.load_template(LENET, ask=False)
    _edit(window)
    seen = answer_message_boxes(monkeypatch, Button.Cancel)
    assert not window.files.new()
    assert not window.files.open_path(LENET)
    assert len(seen) == 2
    assert window.document.graph.node_by_name("conv1").params["out_channels"] == 8
    target = tmp_path / "kept.json"
    _save_dialog_returns(monkeypatch, target)
    seen = answer_message_boxes(monkeypatch, Button.Save)
    assert window.files.new()
    assert target.exists() and len(window.document.graph) == 0


def test_dropping_a_json_file_opens_it(window, tmp_path):
    copy = tmp_path / "dropped.json"
    copy.write_text(LENET.read_text())
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(copy))])
    target = window.view.viewport()  # dropped on the canvas, it still opens the file
    args = (
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    enter = QDragEnterEvent(QPoint(50, 50), *args)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(target, QDropEvent(QPointF(50, 50), *args))
    assert window.document.path == copy
    assert len(window.document.graph) > 0


CRASHING_SESSION = """
import os
from dlstudio.core import SetParam
from dlstudio.gui.app import create_application
from dlstudio.gui.main_window import MainWindow

app = create_application()
window = MainWindow(autosave_delay_ms=50)
window.files.load_template({template!r}, ask=False)
window.autosaver.saved.connect(lambda path: (print(path, flush=True), os._exit(3)))
conv = window.document.graph.node_by_name("conv1")
window.document.push(SetParam(conv.id, "out_channels", 8))
app.exec()
"""


def _crash_after_autosave(data_dir: Path) -> Path:
    """Run a session that edits, autosaves, then dies without cleaning up; its copy's path."""
    env = {**os.environ, "DLSTUDIO_DATA_DIR": str(data_dir), "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-c", CRASHING_SESSION.format(template=str(LENET))],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 3, result.stderr
    return Path(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def crashed_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data folder a crashed session left (its recovery copy, origin and lock): one crash
    for the module, as starting the program in a child process takes seconds."""
    folder = tmp_path_factory.mktemp("crashed") / "data"
    assert _crash_after_autosave(folder).parent == folder / "recovery"
    return folder


def _left_by_crash(crashed: Path, data_dir: Path) -> Path:
    """Put the crashed session's files into this test's data folder (each test takes its own
    copy, as it recovers or deletes it); the copy's path there."""
    shutil.copytree(crashed / "recovery", data_dir / "recovery")
    (copy,) = (data_dir / "recovery").glob("session-*.json")
    return copy


def test_autosave_writes_recovery_file(window, qtbot, data_dir):
    window.files.load_template(LENET, ask=False)
    with qtbot.waitSignal(window.autosaver.saved, timeout=5000) as saved:
        _edit(window)
    recovery = Path(saved.args[0])
    assert recovery.parent == data_dir / "recovery" and recovery.exists()
    assert recovery.read_text() == dumps_project(window.document.graph)
    # A second window running at the same time must not offer this live session's copy.
    other = MainWindow()
    assert other.files.autosaver.store.leftovers() == []
    other.deleteLater()


def test_next_start_after_a_crash_offers_recovery(qtbot, monkeypatch, data_dir, crashed_session):
    recovery = _left_by_crash(crashed_session, data_dir)
    assert recovery.exists()
    seen = answer_message_boxes(monkeypatch, Button.Yes)
    second = MainWindow(autosave_delay_ms=50)
    qtbot.addWidget(second)
    assert second.files.offer_recovery()
    assert len(seen) == 1 and "Recover" in seen[0][0]
    assert second.document.graph.node_by_name("conv1").params["out_channels"] == 8
    assert second.isWindowModified()  # recovered work is in no file yet
    assert not recovery.exists()  # taken over by the new session's own copy
    assert second.autosaver.store.path.exists()
    second.document.undo_stack.set_clean()


def test_declining_recovery_deletes_the_copy(qtbot, monkeypatch, data_dir, crashed_session):
    recovery = _left_by_crash(crashed_session, data_dir)
    answer_message_boxes(monkeypatch, Button.No)
    second = MainWindow()
    qtbot.addWidget(second)
    assert not second.files.offer_recovery()
    assert not recovery.exists()
    assert len(second.document.graph) == 0
    assert not second.files.offer_recovery()  # asked once only


def test_clean_save_removes_recovery_copy(window, qtbot, tmp_path, monkeypatch):
    window.files.load_template(LENET, ask=False)
    with qtbot.waitSignal(window.autosaver.saved, timeout=5000):
        _edit(window)
    assert window.autosaver.store.path.exists()
    _save_dialog_returns(monkeypatch, tmp_path / "saved.json")
    assert window.files.save()
    assert not window.autosaver.store.path.exists()
