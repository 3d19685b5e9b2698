"""Training settings as undoable edits, run-history overlays and the health overlay."""

from __future__ import annotations

from datetime import datetime, timedelta

import torch

from dlstudio.gui.training.history import RunStore
from dlstudio.train import EpochEvent, StepEvent
from dlstudio.train.health import HealthEvent

pytest_plugins = ["tests.gui.fixtures_training"]


def test_template_settings_show_and_edits_are_undoable(make_window, qtbot):
    win = make_window("lenet5")
    panel = win.training.panel
    settings = dict(win.document.graph.metadata["training"])
    assert panel.dataset_combo.currentData() == "digits"
    assert "digits" in panel.dataset_description.text()
    assert panel.options_edit.text() == "resize=28"
    assert panel.epochs_spin.value() == settings["epochs"] != 3
    assert panel.batch_spin.value() == settings["batch_size"]
    assert panel.optimizer_combo.currentText() == "adam" and panel.lr_spin.value() == 0.001
    assert panel.config().dataset == "digits"  # Train works at once

    panel.epochs_spin.setValue(3)
    panel.epochs_spin.editingFinished.emit()
    panel.optimizer_combo.setCurrentText("sgd")
    panel.optimizer_combo.activated.emit(panel.optimizer_combo.currentIndex())
    training = win.document.graph.metadata["training"]
    assert (training["epochs"], training["optimizer"]) == (3, "sgd")
    assert win.document.undo_stack.undo_text == "set training"

    win.document.undo()
    assert panel.optimizer_combo.currentText() == "adam" and panel.epochs_spin.value() == 3
    win.document.undo()
    assert panel.epochs_spin.value() == settings["epochs"]
    assert win.document.graph.metadata["training"] == settings

    # A bad option is refused with a message, and the document keeps its settings.
    panel.options_edit.setText("resize")
    panel.options_edit.editingFinished.emit()
    assert panel.error_label.isVisibleTo(panel) and "name=value" in panel.error_label.text()
    assert win.document.graph.metadata["training"]["dataset_options"] == {"resize": 28}


def _fake_run(store: RunStore, graph, started: datetime, losses: list[float]):
    record = store.create(graph, graph.metadata["training"], started)
    for step, loss in enumerate(losses, 1):
        record.add_step(StepEvent(step, 1, loss, 0.01, 100.0, step / len(losses)))
    record.add_epoch(
        EpochEvent(1, len(losses), {"loss": losses[-1]}, {"loss": 0.5, "accuracy": 0.8})
    )
    record.status = "completed"
    store.save(record)
    return record


def test_run_history_overlays_curves_of_past_runs(make_window, qtbot):
    win = make_window("iris-mlp")
    controller = win.training
    now = datetime.now()
    first = _fake_run(
        controller.store, win.document.graph, now - timedelta(minutes=5), [1.0, 0.8, 0.6]
    )
    second = _fake_run(controller.store, win.document.graph, now, [0.9, 0.5, 0.3])
    history = controller.monitor.history
    history.set_records(controller.store.load_all())
    assert [r.run_id for r in history.records] == [second.run_id, first.run_id]  # newest first

    history.set_ticked({first.run_id, second.run_id})
    plot = controller.monitor.plot
    # Per run: training loss, validation loss, metric and learning rate curves.
    assert plot.overlay_count == 8
    # Each ticked run shows its curve colour next to its tick.
    icons = [history.table.topLevelItem(row).icon(0) for row in range(2)]
    assert all(not icon.isNull() for icon in icons)
    history.set_ticked(set())
    assert plot.overlay_count == 0


def test_dead_relu_is_flagged_on_the_canvas(make_window, qtbot, monkeypatch, message_boxes):
    import dlstudio.gui.training.worker as worker_module

    real_compile = worker_module.compile_graph

    def compile_dead(graph, **options):
        compiled = real_compile(graph, **options)
        with torch.no_grad():
            compiled.module.fc1.bias.fill_(-100.0)  # every unit of relu1 starts (and stays) dead
        return compiled

    monkeypatch.setattr(worker_module, "compile_graph", compile_dead)
    win = make_window("iris-mlp")
    controller = win.training
    controller.start()
    health = win.wait_event(qtbot, HealthEvent)
    win.wait_finished(qtbot)

    relu = health.node("n3")
    assert relu.zero_fraction == 1.0
    assert any("mostly dead" in w for w in relu.warnings)
    badge = controller.overlay.badges["n3"]
    assert badge.parentItem() is win.scene.node_item("n3") and badge.isVisible()
    assert badge.halo.isVisible() and "mostly dead" in badge.toolTip()
    assert not controller.overlay.badges["n4"].halo.isVisible()  # fc2 is healthy
    assert "mostly dead" in controller.monitor.log.toPlainText()
    # The health table fills when its tab is shown (while hidden it keeps the latest report).
    controller.monitor.setCurrentWidget(controller.monitor.health)
    assert controller.monitor.health.item(0, 0).text() in ("relu1", "fc1")  # warnings first

    win.training_ui.actions["health"].setChecked(False)
    assert not badge.isVisible() and not badge.halo.isVisible()


class _Reverser(torch.nn.Module):
    """Logits that spell out the reversed source: a perfect model of the reverse task."""

    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.vocab = vocab
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.one_hot(src.flip(1), self.vocab).float() * 10 * self.scale


def test_sequence_results_show_decoded_tokens(qtbot):
    from dlstudio.gui.training.evaluation import choose_split, evaluate_model
    from dlstudio.gui.training.results import ConfusionMatrixView, SamplePredictions
    from dlstudio.train import TrainConfig, load_dataset

    dataset = load_dataset("reverse", {"seq_len": 4, "n_samples": 60})
    config = TrainConfig(dataset="reverse", metric="token_accuracy", val_fraction=0.25)
    name, split = choose_split(dataset, config, test=True)
    result = evaluate_model(_Reverser(dataset.vocab_size), split, dataset, config, name)

    assert result.kind == "sequence" and result.confusion is None and result.size == 15
    assert "no test split" in result.split
    assert result.metrics["token_accuracy"] == 1.0
    first = result.samples[0]
    assert first.correct and first.truth == first.predicted
    assert first.text.split() == list(reversed(first.truth.split()))  # e.g. "s8 s6 s5 s2"
    assert all(token.startswith("s") for token in first.truth.split())

    samples, matrix = SamplePredictions(), ConfusionMatrixView()
    qtbot.addWidget(samples)
    qtbot.addWidget(matrix)
    samples.set_predictions(result)
    matrix.set_predictions(result)
    assert len(samples.cards) == len(result.samples) and matrix.total == 0


def test_progress_clock_ignores_time_before_the_first_step(monkeypatch):
    from dlstudio.gui.training import progress

    now = [100.0]
    monkeypatch.setattr(progress.time, "perf_counter", lambda: now[0])
    clock = progress.ProgressClock()
    fraction, text, bar = clock.describe(StepEvent(10, 1, 0.5, 0.01, 900.0, 0.5), epochs=2)
    assert fraction == 0.25 and "estimating" in text and bar == "25% · loss 0.5000"
    assert "samples/s after epoch 1" in text
    # The speed shown is the epoch's own figure, not the last report's momentary rate.
    clock.epoch_done(EpochEvent(1, 10, {"loss": 0.5}, {}, 2.0, samples_per_s=812.4))
    now[0] = 110.0  # another quarter of the run in 10 s: 20 s to go
    fraction, text, _bar = clock.describe(StepEvent(20, 2, 0.4, 0.01, 900.0, 0.0), epochs=2)
    assert fraction == 0.5
    assert text == "Epoch 2/2 · step 20 · 812 samples/s (epoch 1) · about 0:20 left"
    assert progress.clock(3725) == "1:02:05"


def test_a_hidden_health_table_fills_only_when_shown(qtbot) -> None:
    from dlstudio.gui.training.overlay import HealthTable
    from dlstudio.train.health import NodeHealth

    table = HealthTable()
    qtbot.addWidget(table)
    first = HealthEvent(20, 1, (NodeHealth("n1", "fc1", "dense", mean=0.5),))
    latest = HealthEvent(40, 1, (NodeHealth("n1", "fc1", "dense", mean=0.25),))
    table.show_event(first)
    table.show_event(latest)
    assert table.rowCount() == 0  # hidden: nothing filled yet
    table.show()
    assert table.rowCount() == 1 and table.item(0, 2).text() == "0.25"


def test_the_plot_timer_runs_only_while_there_is_something_to_draw(qtbot) -> None:
    from dlstudio.gui.training.plots import LossPlot

    plot = LossPlot()
    qtbot.addWidget(plot)

    def drawn() -> int:
        x = plot.raw_curve.getData()[0]
        return 0 if x is None else len(x)

    plot.add_step(StepEvent(1, 1, 0.9, 0.01, 100.0, 0.1))
    assert not plot.timer.isActive()  # hidden: points are only buffered
    plot.show()
    qtbot.waitExposed(plot)
    assert plot.timer.isActive()
    qtbot.waitUntil(lambda: drawn() == 1, timeout=2000)
    qtbot.waitUntil(lambda: not plot.timer.isActive(), timeout=2000)  # idle: no more wake-ups
    plot.add_step(StepEvent(2, 1, 0.8, 0.01, 100.0, 0.2))
    assert plot.timer.isActive()
    qtbot.waitUntil(lambda: drawn() == 2, timeout=2000)


def test_costly_redraws_are_spaced_to_keep_drawing_within_its_share(qtbot) -> None:
    from dlstudio.gui.training import plots

    assert plots.redraw_period_ms(0.0005) == plots.REDRAW_MS  # cheap: 10 Hz
    assert plots.redraw_period_ms(0.006) == 200  # 6 ms at a 3 % share
    assert plots.redraw_period_ms(1.0) == plots.SLOWEST_REDRAW_MS
    plot = plots.LossPlot()
    qtbot.addWidget(plot)
    plot.resize(800, 500)
    plot.show()
    qtbot.waitExposed(plot)
    plot.add_step(StepEvent(1, 1, 0.9, 0.01, 100.0, 0.1))
    qtbot.waitUntil(lambda: plot.graphics.paint_seconds > 0, timeout=2000)  # paints are timed
    plot.graphics.paint_seconds = 0.012
    plot.redraw_now()
    assert plot.timer.interval() >= 400


def test_step_progress_shows_the_first_at_once_then_the_latest_each_interval(qtbot) -> None:
    from dlstudio.gui.training.progress import Throttled

    shown: list[int] = []
    throttled = Throttled(shown.append, 50)
    for value in (1, 2, 3):
        throttled.offer(value)
    assert shown == [1]  # at once after a quiet spell; 2 is superseded by 3
    qtbot.waitUntil(lambda: shown == [1, 3], timeout=2000)
    throttled.offer(4)  # inside the interval started by 3
    throttled.cancel()  # e.g. "Paused at step 40" is shown instead
    qtbot.wait(120)
    assert shown == [1, 3]
    throttled.offer(5)
    assert shown == [1, 3, 5]


class _AlwaysFirstClass(torch.nn.Module):
    """Predicts class 0 for every sample: wrong exactly where the label is not 0."""

    def __init__(self, n_classes: int) -> None:
        super().__init__()
        self.n_classes = n_classes
        self.anchor = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        logits = torch.zeros(len(x), self.n_classes)
        logits[:, 0] = 1.0
        return logits


def test_the_sample_grid_starts_with_the_mistakes():
    from dlstudio.gui.training.evaluation import choose_split, evaluate_model
    from dlstudio.train import TrainConfig, load_dataset

    dataset = load_dataset("iris", {})
    config = TrainConfig(dataset="iris", val_fraction=0.3)
    name, split = choose_split(dataset, config, test=True)
    labels = split.target.tolist()
    assert labels[0] == 0 or labels.index(0) < 8  # right answers come early in split order
    result = evaluate_model(_AlwaysFirstClass(3), split, dataset, config, name, max_samples=8)
    wrong_in_order = [i for i, label in enumerate(labels) if label != 0]
    flags = [s.correct for s in result.samples]
    assert len(flags) == 8 and flags == sorted(flags)  # every mistake before every right one
    assert flags.count(False) == min(8, len(wrong_in_order))
    names = result.class_names
    expected = [names[labels[i]] for i in wrong_in_order[:8]]
    assert [s.truth for s in result.samples if not s.correct] == expected


def test_the_confusion_matrix_names_its_axes(qtbot):
    from dlstudio.gui.training.evaluation import choose_split, evaluate_model
    from dlstudio.gui.training.results import ConfusionMatrixView
    from dlstudio.train import TrainConfig, load_dataset

    dataset = load_dataset("iris", {})
    config = TrainConfig(dataset="iris", val_fraction=0.3)
    name, split = choose_split(dataset, config, test=True)
    matrix = ConfusionMatrixView()
    qtbot.addWidget(matrix)
    matrix.resize(360, 300)
    matrix.show()
    matrix.set_predictions(evaluate_model(_AlwaysFirstClass(3), split, dataset, config, name))
    qtbot.wait(20)
    table = matrix.table.geometry()
    across, down = matrix.predicted_title, matrix.true_title
    assert across.isVisible() and "predicted" in across.text()
    assert down.isVisible() and "true" in down.text()
    assert across.geometry().bottom() < table.top()  # above the columns
    assert down.geometry().right() < table.left()  # left of the rows
    assert down.height() > down.width()  # written upwards, as matrix axes are
