"""The experiment in the window: Export › Training Script… / Notebook…, File › Compare With…
(side by side and marks on the canvas), and two runs compared by architecture."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import nbformat
from fixtures_window import data_dir, window  # noqa: F401  (fixtures)
from PySide6.QtCore import Qt

from dlstudio.core import load_project
from dlstudio.core.commands import SetParam
from dlstudio.gui.experiment.diff_overlay import DiffMarkItem
from dlstudio.gui.training.runs_view import RunHistoryPanel
from dlstudio.train.history import RunStore

REPO = Path(__file__).resolve().parents[2]


def _open(win, tmp_path: Path, template: str, **training) -> Path:
    data = json.loads((REPO / "templates" / f"{template}.json").read_text(encoding="utf-8"))
    data["metadata"]["training"].update(training)
    path = tmp_path / f"{template}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert win.files.open_path(path, ask=False)
    return path


def test_export_menu_writes_training_script_and_notebook(window, qtbot, tmp_path) -> None:  # noqa: F811
    _open(window, tmp_path, "lenet5", epochs=1)
    names = [a.text() for a in window.action_registry.menus["export"].actions()]
    assert "Training &Script…" in names and "Training &Notebook…" in names
    exports = window.experiment_ui.exports
    script = tmp_path / "train.py"
    with qtbot.waitSignal(exports.finished, timeout=60_000):
        exports.export_script(script)
    text = script.read_text(encoding="utf-8")
    assert "class Lenet5(nn.Module):" in text and "def train(settings" in text
    notebook = tmp_path / "x.ipynb"
    with qtbot.waitSignal(exports.finished, timeout=60_000):
        exports.export_notebook(notebook)
    nbformat.validate(nbformat.read(notebook, as_version=4))
    assert exports.last_error == ""


def test_compare_with_project_side_by_side_and_on_canvas(window, tmp_path) -> None:  # noqa: F811
    _open(window, tmp_path, "lenet5")
    other = json.loads((REPO / "templates" / "lenet5.json").read_text(encoding="utf-8"))
    next(n for n in other["nodes"] if n["name"] == "fc1")["params"]["units"] = 64
    other_path = tmp_path / "narrow.json"
    other_path.write_text(json.dumps(other), encoding="utf-8")
    action = window.action_registry.by_name["compare_with"]
    assert action in window.action_registry.menus["file"].actions()
    action.trigger()
    dialog = window.experiment_ui.compare_dialog
    assert dialog.isVisible() and dialog.compare_with_file(other_path)
    kinds = dialog.view.visible_kinds()
    assert kinds.count("changed") == 2  # fc1 (units) and fc2 (its input size follows)
    dialog.view.only_changes.setChecked(True)
    assert dialog.view.visible_kinds() == ["changed", "changed"]
    marked = {m.parentItem().node.name: m.kind for m in dialog.overlay.items}
    assert marked == {"fc1": "changed", "fc2": "changed"}
    # An edit compares again: conv1 gets more filters in the model on screen.
    conv1 = window.document.graph.node_by_name("conv1")
    assert window.document.push(SetParam(conv1.id, "out_channels", 8))
    window.document.reanalyze()
    assert {c.path for c in dialog.diff.changes} == {"conv1", "conv2", "fc1", "fc2"}
    assert any(
        isinstance(m, DiffMarkItem) and m.parentItem().node.name == "conv1"
        for m in dialog.overlay.items
    )
    dialog.canvas_box.setChecked(False)
    assert dialog.overlay.items == []
    dialog.close()


def test_compare_with_a_past_run_and_unreadable_file(window, tmp_path, data_dir) -> None:  # noqa: F811
    _open(window, tmp_path, "lenet5")
    snapshot = load_project(REPO / "templates" / "mlp-mnist.json")
    RunStore().create(snapshot, {"dataset": "digits"}, datetime(2026, 1, 2, 3, 4, 5))
    window.action_registry.by_name["compare_with"].trigger()
    dialog = window.experiment_ui.compare_dialog
    assert dialog.runs.count() == 2
    dialog.runs.activated.emit(1)
    assert dialog.diff is not None and not dialog.diff.same
    assert dialog.diff.name_a == snapshot.name
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    assert not dialog.compare_with_file(broken)
    assert "broken.json" in dialog.error
    dialog.close()


def test_run_history_compares_two_ticked_runs(qtbot, tmp_path) -> None:
    store = RunStore(tmp_path / "runs")
    first = load_project(REPO / "templates" / "lenet5.json")
    second = load_project(REPO / "templates" / "lenet5.json")
    fc1 = second.node_by_name("fc1")
    second.update_node(fc1.id, params={**fc1.params, "units": 100})
    start = datetime(2026, 1, 1, 9, 0, 0)
    store.create(first, {}, start)
    store.create(second, {}, start + timedelta(minutes=5))
    panel = RunHistoryPanel()
    qtbot.addWidget(panel)
    panel.set_records(store.load_all())
    assert not panel.compare_button.isEnabled()
    panel.set_ticked({r.run_id for r in panel.records})
    assert panel.compare_button.isEnabled()
    qtbot.mouseClick(panel.compare_button, Qt.MouseButton.LeftButton)
    dialog = panel.architecture_dialog
    assert dialog is not None
    # Older run is A, newer is B: fc1 went from 120 to 100 units.
    fc1 = next(c for c in dialog.diff.changes if c.path == "fc1")
    assert [(v.before, v.after) for v in fc1.values] == [(120, 100)]
    assert "changed" in dialog.view.headline.text()
    dialog.close()
