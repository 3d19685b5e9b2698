"""File dialogs start in the folder last used, whichever dialog used it."""

from __future__ import annotations

import shutil

from PySide6.QtWidgets import QFileDialog

from dlstudio.gui.dialogs.import_model import ImportModelDialog
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
