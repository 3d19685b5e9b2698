"""Pause, resume, stop, the graph snapshot, worker errors and closing the window mid-run."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from dlstudio.core.commands import SetMetadata, SetParam
from dlstudio.gui.training import close_guard
from dlstudio.train import FailedEvent, FinishedEvent, PausedEvent, StepEvent

pytest_plugins = ["tests.gui.fixtures_training"]

LONG = {"epochs": 500, "batch_size": 16}
"""Settings of a run that only ends when stopped."""


def test_pause_resume_and_stop_take_effect(make_window, qtbot, message_boxes):
    win = make_window("iris-mlp", **LONG)
    controller = win.training
    controller.start()
    win.wait_event(qtbot, StepEvent)

    win.training_ui.actions["pause"].trigger()
    paused = win.wait_event(qtbot, PausedEvent)
    assert controller.state == "paused" and controller.panel.resume_button.isEnabled()
    # While paused no step is reported.
    steps_before = sum(isinstance(e, StepEvent) for e in win.events)
    with qtbot.assertNotEmitted(controller.event_received, wait=300):
        pass
    assert sum(isinstance(e, StepEvent) for e in win.events) == steps_before

    qtbot.mouseClick(controller.panel.resume_button, Qt.MouseButton.LeftButton)
    win.wait_event(qtbot, StepEvent, check=lambda e: e.step > paused.step)
    assert controller.state == "running"

    qtbot.mouseClick(controller.panel.stop_button, Qt.MouseButton.LeftButton)
    record = win.wait_finished(qtbot)
    finished = [e for e in win.events if isinstance(e, FinishedEvent)]
    assert finished[-1].reason == "stopped" and finished[-1].epochs < 500
    assert record.status == "stopped" and controller.state == "idle"
    assert not controller.is_running and message_boxes.shown == []


def test_edits_during_a_run_do_not_touch_the_running_model(make_window, qtbot):
    win = make_window("iris-mlp", **LONG)
    controller = win.training
    record = controller.start()
    win.wait_event(qtbot, StepEvent)

    # The user widens fc1 while the run goes on: a valid edit of the live document.
    assert win.document.push(SetParam("n2", "units", 32))
    assert "changed since" in controller.panel.banner.text()
    steps = sum(isinstance(e, StepEvent) for e in win.events)
    win.wait_event(qtbot, StepEvent, check=lambda e: e.step > 0 and steps < len(win.events))
    controller.stop()
    win.wait_finished(qtbot)

    assert record.status == "stopped"
    trained = controller.trained[record.run_id]
    assert tuple(trained.fc1.weight.shape) == (16, 4)  # the snapshot's 16 units, not 32
    assert record.load_graph().node("n2").params["units"] == 16
    assert win.document.graph.node("n2").params["units"] == 32


@pytest.mark.parametrize(
    ("name", "settings", "expected"),
    [
        ("iris-mlp", {"dataset": "/no/such/folder/data.csv"}, "no such file"),
        # LeNet-5 wants 1x28x28 images; the flattened digits do not fit.
        ("lenet5", {"dataset_options": {"resize": 28, "flatten": True}}, "(N, 1, 28, 28)"),
    ],
    ids=["missing-file", "data-does-not-fit"],
)
def test_worker_error_shows_dialog_and_window_keeps_working(
    make_window, qtbot, message_boxes, name, settings, expected
):
    win = make_window(name, **settings)
    controller = win.training
    # Train reports these before starting (test_training_data.py); the worker must still
    # handle them (a file deleted between the check and the run).
    controller.start(check_data=False)
    failed = win.wait_event(qtbot, FailedEvent)
    win.wait_finished(qtbot)

    assert [b["title"] for b in message_boxes.shown] == ["Training failed"]
    box = message_boxes.shown[0]
    assert box["message"] == failed.message
    assert expected in failed.message
    assert "Run run-" in box["details"]  # the run and its settings behind "Show Details"
    assert controller.state == "idle" and controller.panel.start_button.isEnabled()
    assert controller.record.status == "failed"
    # The window still edits: settings and the graph.
    assert win.document.push(SetMetadata("training", {**controller.panel.metadata(), "epochs": 2}))
    assert controller.panel.epochs_spin.value() == 2


def _answer_quit_question(monkeypatch, answer: str) -> list[str]:
    asked: list[str] = []

    def ask(_window, controller) -> str:
        asked.append(controller.record.run_id)
        return answer

    monkeypatch.setattr(close_guard, "ask_about_run", ask)
    return asked


def test_closing_the_window_during_a_run_asks_then_stops_it_cleanly(
    make_window, qtbot, qtlog, monkeypatch
):
    win = make_window("iris-mlp", **LONG)
    controller = win.training
    record = controller.start()
    win.wait_event(qtbot, StepEvent)

    asked = _answer_quit_question(monkeypatch, close_guard.CANCEL)
    assert not win.close()  # Cancel: the window stays and the run goes on
    assert asked == [record.run_id] and controller.is_running and win.isVisible()

    _answer_quit_question(monkeypatch, close_guard.STOP)
    assert win.close()
    assert not controller.is_running
    assert record.status == "stopped"
    assert (record.folder / "checkpoint.pt").exists() and record.weights_path.exists()
    assert not any("QThread" in message.message for message in qtlog.records)


def test_keep_training_closes_the_window_when_the_run_ends(make_window, qtbot, monkeypatch):
    win = make_window("iris-mlp", epochs=3, batch_size=16)
    controller = win.training
    record = controller.start()
    win.wait_event(qtbot, StepEvent)
    _answer_quit_question(monkeypatch, close_guard.KEEP)
    assert not win.close()
    assert controller.is_running and win.isVisible()
    win.wait_finished(qtbot)
    qtbot.waitUntil(lambda: not win.isVisible(), timeout=10_000)
    assert record.status == "completed"


def test_start_from_weights_is_cleared_when_another_project_opens(make_window, tmp_path):
    import graph_builders

    win = make_window("iris-mlp")
    panel = win.training.panel
    panel.set_init_weights(tmp_path / "other-project.safetensors")
    assert panel.init_weights is not None
    win.document.push(SetMetadata("training", {**panel.metadata(), "epochs": 2}))
    assert panel.init_weights is not None  # edits keep it
    win.document.replace_graph(graph_builders.iris_mlp())
    assert panel.init_weights is None
    assert panel.init_weights_label.text() == "random, from the seed"
