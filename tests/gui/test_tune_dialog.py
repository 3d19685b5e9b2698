"""Run › Tune…: a user edits the space, starts a study on iris, watches the trials arrive in the
plot and the table, applies the best values and undoes them."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from dlstudio.core import graph_to_dict
from dlstudio.gui.tune import TuneOutcome, suggested_space
from dlstudio.train.history import RunStore
from dlstudio.train.tune import TrialFinished

pytest_plugins = ["tests.gui.fixtures_training"]
STUDY_TIMEOUT_MS = 180_000


@pytest.mark.slow
def test_tune_dialog_runs_a_study_plots_it_and_applies_the_best_values_undoably(
    make_window, qtbot, training_data_dir
):
    win = make_window("iris-mlp", epochs=2, batch_size=32)
    run_menu = next(a.menu() for a in win.menuBar().actions() if a.text() == "&Run")
    action = win.training_ui.tune.action
    titles = [a.text() for a in run_menu.actions()]
    assert (
        action in run_menu.actions()
        and titles.index(action.text()) == titles.index("&Stop Training") + 1
    )
    action.trigger()
    dialog = win.training_ui.tune.dialog
    qtbot.waitExposed(dialog)
    # Suggestions: learning rate, batch size and the hidden layer (not the output layer fc2).
    assert dialog.space_lines() == suggested_space(win.document.graph)
    assert dialog.space_lines()[-1] == "fc1.units=8:128" and dialog.epochs_spin.value() == 2
    assert not dialog.apply_button.isEnabled() and not dialog.stop_button.isEnabled()

    # A bad line is refused with its text and the problem; nothing starts.
    dialog.space_edit.setPlainText("lr=1e-3:1e-1:log\nfc9.units=4:32")
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert not dialog.is_running
    assert "'fc9.units=4:32': the model has no layer named 'fc9'" in dialog.status_label.text()

    before = graph_to_dict(win.document.graph)
    dialog.space_edit.setPlainText("lr=1e-3:1e-1:log\nfc1.units=4:32")
    dialog.trials_spin.setValue(4)
    finished: list[TrialFinished] = []
    dialog.trial_event.connect(lambda e: finished.append(e) if isinstance(e, TrialFinished) else 0)
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.is_running and dialog.stop_button.isEnabled()
    assert not dialog.start_button.isEnabled() and not dialog.space_edit.isEnabled()

    # The plot shows the first trial as soon as it ends, while the study goes on.
    qtbot.waitUntil(lambda: bool(finished), timeout=STUDY_TIMEOUT_MS)
    qtbot.waitUntil(lambda: len(_points(dialog.plot)) >= 1, timeout=2_000)
    with qtbot.waitSignal(dialog.study_finished, timeout=STUDY_TIMEOUT_MS) as blocker:
        pass
    outcome: TuneOutcome = blocker.args[0]
    assert not outcome.error and outcome.trials == 4 and outcome.best_number is not None

    plot = dialog.plot
    assert sorted(plot.results) == [0, 1, 2, 3]
    assert len(_points(plot)) == 4  # every trial, whatever its state
    assert len(plot.curves) == 4 and all(len(c) >= 1 for c in plot.curves.values())
    best_x, best_y = plot.best_curve.getData()
    assert list(best_x) == [0, 1, 2, 3] and best_y[-1] == outcome.best_value
    assert list(best_y) == sorted(best_y)  # best so far never falls (accuracy is maximised)

    table = dialog.table
    assert table.rowCount() == 4
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers == ["trial", "state", "lr", "fc1.units", "val metric", "epochs"]
    assert table.item(outcome.best_number, 0).text() == f"{outcome.best_number} ★"
    assert {table.item(r, 1).text() for r in range(4)} <= {"complete", "pruned"}
    assert "Best: trial" in dialog.status_label.text()

    # The study trained snapshots: the model is untouched until Apply Best.
    assert graph_to_dict(win.document.graph) == before
    # Every trial is a run in the history, shown in the Runs tab.
    runs = RunStore().load_all()
    assert sorted(r.trial["number"] for r in runs) == [0, 1, 2, 3]
    assert len(win.training.monitor.history.records) == 4

    assert dialog.apply_button.isEnabled()
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    graph = win.document.graph
    assert graph.node_by_name("fc1").params["units"] == outcome.best_params["fc1.units"]
    assert graph.metadata["training"]["lr"] == outcome.best_params["lr"]
    assert "Applied trial" in dialog.status_label.text()
    assert win.document.undo_stack.undo_text.startswith("apply tuned values")
    win.document.undo()  # one step reverts every value
    assert graph_to_dict(win.document.graph) == before
    win.document.redo()
    assert graph.node_by_name("fc1").params["units"] == outcome.best_params["fc1.units"]


def test_stop_ends_the_study_after_the_current_batch(make_window, qtbot, training_data_dir):
    win = make_window("iris-mlp", epochs=50, batch_size=8)
    dialog = win.training_ui.tune.show()
    dialog.space_edit.setPlainText("lr=1e-3:1e-1:log")
    dialog.trials_spin.setValue(50)
    started = []
    dialog.trial_event.connect(
        lambda e: started.append(e) if type(e).__name__ == "TrialEpoch" else 0
    )
    assert dialog.start()
    qtbot.waitUntil(lambda: bool(started), timeout=STUDY_TIMEOUT_MS)
    with qtbot.waitSignal(dialog.study_finished, timeout=STUDY_TIMEOUT_MS) as blocker:
        qtbot.mouseClick(dialog.stop_button, Qt.MouseButton.LeftButton)
    outcome = blocker.args[0]
    assert outcome.trials == 1 and outcome.best_number is None
    assert dialog.table.item(0, 1).text() == "fail"
    assert "stopped by you" in dialog.table.item(0, 1).toolTip()
    assert "No trial completed" in dialog.status_label.text()
    assert dialog.start_button.isEnabled() and not dialog.is_running


def _points(plot) -> list[float]:
    plot.redraw_now()
    return [x for item in plot.scatter.values() for x in item.getData()[0]]


def test_closing_the_window_stops_a_running_study(make_window, qtbot, training_data_dir):
    win = make_window("iris-mlp", epochs=50, batch_size=8)
    dialog = win.training_ui.tune.show()
    dialog.space_edit.setPlainText("lr=1e-3:1e-1:log")
    epochs = []
    dialog.trial_event.connect(
        lambda e: epochs.append(e) if type(e).__name__ == "TrialEpoch" else 0
    )
    assert dialog.start()
    qtbot.waitUntil(lambda: bool(epochs), timeout=STUDY_TIMEOUT_MS)
    win.close()
    assert not dialog.is_running and not dialog.isVisible()
    assert dialog.outcome is not None and dialog.outcome.trials == 1
