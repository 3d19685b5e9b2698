"""File dialogs start in the folder last used, whichever dialog used it."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from dlstudio.gui.dialogs.import_model import ImportModelDialog
from dlstudio.gui.training.history import RunRecord
from dlstudio.gui.training.start_weights import load_weights_into_model
from tests.gui import fixtures_window
from tests.gui.fixtures_window import TEMPLATES

window = fixtures_window.window
data_dir = fixtures_window.data_dir


def test_every_open_dialog_starts_in_the_last_folder(window, tmp_path, monkeypatch):
    folder = tmp_path / "my models"
    folder.mkdir()
    project = folder / "lenet.json"
    shutil.copy(next(p for p in TEMPLATES if p.stem == "lenet5"), project)
    starts: list[str] = []
    answers = iter([str(project), "", "", ""])

    def fake_dialog(_parent, _title, start, _filters, *_args, **_kwargs):
        starts.append(start)
        return next(answers), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(fake_dialog))
    window.document.undo_stack.set_clean()
    assert window.files.open_dialog()  # File > Open in "my models"
    dialog = ImportModelDialog(window)
    dialog._on_browse_clicked()  # File > Import Model… > Browse…
    window.install_training()
    load_weights_into_model(window.training)  # File > Load Weights into Model…
    window.blocks_ui.insert_project_dialog()  # File > Insert Project as Block…
    assert starts[1:] == [str(folder)] * 3


def test_data_weights_and_save_dialogs_start_in_the_last_folder(window, tmp_path, monkeypatch):
    """A saved project in one folder, a data file picked from another: every later dialog
    (Start from weights, Run > Export Trained Model, the Export menu) starts in the latter."""
    projects, data = tmp_path / "projects", tmp_path / "data sets"
    projects.mkdir()
    data.mkdir()
    project = projects / "lenet.json"
    shutil.copy(next(p for p in TEMPLATES if p.stem == "lenet5"), project)
    (data / "table.csv").write_text("x,label\n1,0\n", encoding="utf-8")
    assert window.files.open_path(project, ask=False)
    opened: list[str] = []
    saved: list[str] = []
    answers = iter([str(data / "table.csv")])

    def fake_open(_parent, _title, start, _filters, *_args, **_kwargs):
        opened.append(start)
        return next(answers, ""), ""

    def fake_save(_parent, _title, start, _filters, *_args, **_kwargs):
        saved.append(start)
        return "", ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(fake_open))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake_save))
    training = window.install_training()
    training.panel.browse_file_action.trigger()  # Data set > Data File…
    training.panel.init_weights_button.click()  # Start from weights…
    record = RunRecord("r1", tmp_path / "run", datetime.now(), "lenet", {})
    training.export_trained(record)  # Run > Export Trained Model…
    window.exports.export_onnx(weights="initial")  # Export > ONNX…
    window.exports.export_python(weights="initial")  # Export > Python…
    window.experiment_ui.exports.export_script()  # Export > Training Script…
    window.document.undo_stack.set_clean()
    assert opened[1:] == [str(data)]
    assert [Path(start).parent for start in saved] == [data] * 4
    assert Path(saved[0]).name == "lenet.onnx"
