"""The editor never loses work silently: failed saves and autosaves show a dialog, the recovery
copy falls back to a folder that works, and a crash after such a fallback is still recovered."""

from __future__ import annotations

import errno
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from dlstudio.core import RenameNode, SetParam, load_project
from dlstudio.core import files as core_files
from dlstudio.gui.main_window import MainWindow
from dlstudio.gui.recovery import fallback_dir
from tests.gui import fixtures_window, test_files_window
from tests.gui.fixtures_window import TEMPLATES, answer_message_boxes

window = fixtures_window.window
data_dir = fixtures_window.data_dir

LENET = next(p for p in TEMPLATES if p.stem == "lenet5")
Button = QMessageBox.StandardButton


def _edit(win: MainWindow, channels: int = 8) -> None:
    conv = win.document.graph.node_by_name("conv1")
    assert win.document.push(SetParam(conv.id, "out_channels", channels))


def _disk_full(_fd, _data):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_failed_save_shows_a_dialog_and_keeps_file_and_work(window, tmp_path, monkeypatch):
    target = tmp_path / "model.json"
    window.files.load_template(LENET, ask=False)
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), ""))
    )
    assert window.files.save()
    before = target.read_bytes()
    _edit(window)
    seen = answer_message_boxes(monkeypatch, Button.Ok)
    monkeypatch.setattr(core_files, "_write", _disk_full)
    window.action_registry.save.trigger()  # what Ctrl+S does
    assert len(seen) == 1 and seen[0][0] == "Could not save"
    assert "disk is full" in seen[0][1] and "previous file is unchanged" in seen[0][1]
    assert window.document.is_modified  # nothing pretends the work was saved
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "model.json"]


def test_ctrl_s_with_an_unstorable_name_says_why(window, tmp_path, monkeypatch):
    window.files.load_template(LENET, ask=False)
    target = tmp_path / "model.json"
    window.document.save(target)
    conv = window.document.graph.node_by_name("conv1")
    assert window.document.push(RenameNode(conv.id, "conv\ud800"))
    seen = answer_message_boxes(monkeypatch, Button.Ok)
    window.action_registry.save.trigger()
    assert len(seen) == 1 and "lone surrogate" in seen[0][1], seen
    assert load_project(target).node_by_name("conv1")  # the old file is intact


def test_autosave_failure_shows_one_dialog_until_it_works_again(window, qtbot, monkeypatch):
    window.files.load_template(LENET, ask=False)
    seen = answer_message_boxes(monkeypatch, Button.Ok)
    monkeypatch.setattr(core_files, "_write", _disk_full)  # data folder and fallback both fail
    for channels in (8, 9):
        with qtbot.waitSignal(window.autosaver.failed, timeout=5000) as failed:
            _edit(window, channels)
        assert "disk is full" in failed.args[0]
    assert [title for title, _ in seen] == ["Autosave failed"]
    assert "crash now would lose them" in seen[0][1]
    monkeypatch.undo()
    seen = answer_message_boxes(monkeypatch, Button.Ok)
    with qtbot.waitSignal(window.autosaver.saved, timeout=5000):
        _edit(window, 10)
    assert seen == []


def test_recovery_copy_falls_back_when_the_data_folder_is_unusable(window, qtbot, data_dir):
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "recovery").write_text("a file where the folder should be")
    window.files.load_template(LENET, ask=False)
    with qtbot.waitSignal(window.autosaver.saved, timeout=5000) as saved:
        _edit(window)
    copy = Path(saved.args[0])
    assert copy.parent == fallback_dir() and copy.exists()
    assert load_project(copy).node_by_name("conv1").params["out_channels"] == 8


def test_crash_with_unusable_data_folder_is_still_recovered(qtbot, monkeypatch, data_dir):
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "recovery").write_text("a file where the folder should be")
    copy = test_files_window._crash_after_autosave(data_dir)
    assert copy.parent == fallback_dir()
    seen = answer_message_boxes(monkeypatch, Button.Yes)
    second = MainWindow(autosave_delay_ms=50)
    qtbot.addWidget(second)
    assert second.files.offer_recovery()
    assert len(seen) == 1 and "Recover" in seen[0][0]
    assert second.document.graph.node_by_name("conv1").params["out_channels"] == 8
    second.document.undo_stack.set_clean()


def test_unstorable_characters_do_not_stop_the_recovery_copy(window, qtbot):
    window.files.load_template(LENET, ask=False)
    conv = window.document.graph.node_by_name("conv1")
    with qtbot.waitSignal(window.autosaver.saved, timeout=5000) as saved:
        assert window.document.push(RenameNode(conv.id, "conv\ud800"))
    recovered = load_project(Path(saved.args[0]))
    assert recovered.node_by_name("conv\ufffd")


def test_a_project_with_wrongly_typed_training_settings_opens(window, tmp_path):
    import json

    from dlstudio.gui.training.install import install_training_ui

    controller = install_training_ui(window).controller  # the Training panel reads the settings
    doc = json.loads(LENET.read_text(encoding="utf-8"))
    doc["metadata"]["training"] = ["digits"]
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert window.files.open_path(path, ask=False)
    doc["metadata"]["training"] = {"dataset": "digits", "dataset_options": "resize=28"}
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert window.files.open_path(path, ask=False)
    assert controller is not None
