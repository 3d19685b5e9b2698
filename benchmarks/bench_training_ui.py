"""Training in the window against the engine alone, on the same run.

Run: ``QT_QPA_PLATFORM=offscreen python benchmarks/bench_training_ui.py [--epochs 3]
[--rounds 25] [--lens | --lens-ab]``. The same graph (the LeNet-5 template on digits), settings and seed are trained

- by the engine: ``resolve_run`` + ``compile_graph`` + ``make_trainer`` + ``Trainer.run``, as
  ``dlstudio train`` does, with no Qt at all;
- in the main window: Run > Train (``TrainingController.start``), the worker thread, the live
  plots, health badges and progress bar, the event loop turning; with ``--lens``, the Lens
  dock open with thumbnails on the canvas (its first refresh done before training starts, as
  a user's lens would be, and every refresh it asks for while the window trains counted).

Rounds alternate (engine, window, engine, window...) so a busy neighbour hurts both alike
(with ``--lens-ab`` a round is the engine, the window with the Lens dock open and the window
without it, the two windows in turn first, and the lens's cost is printed as the ratio of
the window's throughput with it over without it, which a drifting load cancels out of),
after ``--warmup`` untimed rounds on each side (first-time costs count on neither). A shared
2-core VM's speed swings by a fifth from one second to the next, so many short rounds are
run and the figure is the median window throughput over the median engine throughput, with a
90 % interval from resampling the rounds.
Throughput is samples per second of training time as the Trainer itself measures it (the sum of
its epochs' ``seconds``), so set-up and the window's after-run predictions count on neither
side. Printed:

- throughput ratio window / engine per round and the median (target >= 0.95);
- event-loop lateness while the window trains: a 10 ms precise timer's delay beyond its
  interval, median / p99 / max (target p99 <= 10 ms), from ``--lateness-runs`` runs of their
  own (the probe wakes the GUI thread 100 times a second, which the throughput rounds, like a
  user's window, do without);
- Stop (``--stops`` runs, pressed as a step report arrives): how many batches started after
  Stop (target: none; the run ends with the batch in progress, within one batch), when the
  trainer's loop ended, when its FinishedEvent ("stopped") reaches the window, and how much of
  that is writing the checkpoint that makes the stopped run resumable (atomic and fsynced, so
  it grows with the model).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QApplication

from dlstudio.compile import compile_graph
from dlstudio.core import LayerGraph, load_project
from dlstudio.layers.validation import check_node
from dlstudio.train import EpochEvent, FinishedEvent, StepEvent, make_trainer, resolve_run

TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "lenet5.json"
TICK_MS = 10


def _graph(epochs: int) -> LayerGraph:
    graph = load_project(TEMPLATE, node_checker=check_node)
    training = dict(graph.metadata.get("training", {}))
    training.update(epochs=epochs, seed=0, device="cpu", batch_size=32)
    graph.metadata["training"] = training
    return graph


def _throughput(epochs: list[EpochEvent], samples_per_epoch: int) -> float:
    seconds = sum(e.seconds for e in epochs)
    return samples_per_epoch * len(epochs) / seconds


def engine_run(graph: LayerGraph, folder: Path) -> tuple[float, int]:
    """Samples/s of the engine alone, and samples per epoch."""
    epochs: list[EpochEvent] = []
    steps: list[StepEvent] = []

    def on_event(event) -> None:
        if isinstance(event, EpochEvent):
            epochs.append(event)
        elif isinstance(event, StepEvent):
            steps.append(event)

    torch.manual_seed(0)
    config, dataset = resolve_run(graph.metadata["training"], device="cpu")
    compiled = compile_graph(graph)
    trainer = make_trainer(compiled, config, [on_event], None, folder)
    result = trainer.run(dataset)
    if result.status != "completed":
        raise SystemExit(f"engine run failed: {result.message}")
    # The training part of the split (the same on both sides: only the ratio matters there).
    per_epoch = round(len(dataset.data) * (1 - config.val_fraction))
    return _throughput(epochs, per_epoch), per_epoch


class WindowRun:
    """One run in a real main window, with an event-loop lateness probe."""

    def __init__(
        self, app: QApplication, graph: LayerGraph, probe: bool = False, lens: bool = False
    ) -> None:
        from dlstudio.gui.document import Document
        from dlstudio.gui.main_window import MainWindow

        self.app = app
        self.window = MainWindow(Document(graph), autosave_delay_ms=60_000)
        self.window.resize(1600, 1000)
        self.window.show()
        self.controller = self.window.training
        self.events: list = []
        self.stop_after_steps: int | None = None
        self.stop_at: float | None = None
        self.finished_at: float | None = None
        self.controller.event_received.connect(self._on_event)
        self.ticks: list[float] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.clock = QElapsedTimer()
        self.timer.timeout.connect(lambda: self.ticks.append(self.clock.nsecsElapsed() / 1e6))
        self.probe = probe
        """Run the lateness timer (it wakes the GUI thread 100 times a second, which costs the
        training thread the interpreter too: throughput rounds run without it)."""
        self.lens_refreshes = 0
        """Lens refreshes started while the window trained (``--lens``)."""
        if lens:
            self._open_lens()

    def _open_lens(self) -> None:
        """Show the Lens dock with thumbnails and wait for its first refresh to be drawn."""
        lens = self.window.lens
        if lens is None:
            raise SystemExit("this window has no lens")
        lens.dock.show()
        lens.dock.raise_()
        lens.panel.thumbnails.setChecked(True)
        deadline = time.perf_counter() + 120
        while time.perf_counter() < deadline:
            self.app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            last = lens.last
            shown = last is not None and last.generation == lens.session._latest
            if shown and not lens._timer.isActive() and lens.thumbnail_count():
                break
            time.sleep(0.01)
        else:
            raise SystemExit(f"the lens did not refresh: {lens.panel.status.text()}")
        original = lens.refresh_now

        def counted():
            if self.controller.is_running:
                self.lens_refreshes += 1
            return original()

        lens._timer.timeout.disconnect()
        lens._timer.timeout.connect(counted)

    def _on_event(self, event) -> None:
        now = time.perf_counter()
        self.events.append(event)
        if isinstance(event, FinishedEvent) and self.finished_at is None:
            self.finished_at = now
        if (
            self.stop_after_steps
            and self.stop_at is None
            and isinstance(event, StepEvent)
            and event.step >= self.stop_after_steps
        ):
            self.stop_at = time.perf_counter()
            self.controller.stop()

    def run(self, stop_after_steps: int | None = None) -> dict[str, float]:
        """Train in the application's event loop; with ``stop_after_steps``, press Stop once
        that many steps are reported."""
        self.stop_after_steps = stop_after_steps
        self.stop_at = self.finished_at = None
        loop = QEventLoop()
        self.controller.run_finished.connect(loop.quit)
        QTimer.singleShot(200, loop.quit)  # let the window settle first
        loop.exec()
        # The window checks the data set on a worker; Train waits for that report (and would
        # start by itself once it came), so the timed run starts only when it is in.
        deadline = time.perf_counter() + 120
        while self.controller.data_check.current() is None and time.perf_counter() < deadline:
            QTimer.singleShot(50, loop.quit)
            loop.exec()
        self.clock.start()
        if self.probe:
            self.timer.start()
        if self.controller.start() is None:
            raise SystemExit("the window refused to train")
        loop.exec()  # until the worker thread has finished
        thread_end = time.perf_counter()
        self.timer.stop()
        epochs = [e for e in self.events if isinstance(e, EpochEvent)]
        steps = [e for e in self.events if isinstance(e, StepEvent)]
        out = {"epochs": len(epochs)}
        if epochs:
            out["seconds"] = sum(e.seconds for e in epochs)
        if steps:
            out["samples_per_s"] = statistics.median(s.samples_per_s for s in steps)
        if self.stop_at is not None and self.finished_at is not None:
            out["stop_to_finished_ms"] = (self.finished_at - self.stop_at) * 1000
            out["stop_to_idle_ms"] = (thread_end - self.stop_at) * 1000
        return out

    def lateness(self) -> list[float]:
        """Each timer interval's delay beyond TICK_MS, in ms."""
        gaps = [b - a for a, b in zip(self.ticks, self.ticks[1:], strict=False)]
        return [max(0.0, g - TICK_MS) for g in gaps]

    def close(self) -> None:
        self.window.document.undo_stack.set_clean()
        self.window.close()
        self.window.deleteLater()
        self.app.processEvents()


def _bootstrap_interval(
    engines: list[float], windows: list[float], draws: int = 2000
) -> tuple[float, float]:
    """A 90 % interval for median(window) / median(engine): this machine's speed swings by
    a fifth from one second to the next, so one round's ratio says little."""
    pick = random.Random(0)
    n = len(engines)
    ratios = []
    for _ in range(draws):
        rounds = [pick.randrange(n) for _ in range(n)]
        engine = statistics.median(engines[i] for i in rounds)
        ratios.append(statistics.median(windows[i] for i in rounds) / engine)
    return _p(ratios, 0.05), _p(ratios, 0.95)


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> int:
    """Alternate engine and window rounds, then a Stop run; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs a round")
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument(
        "--warmup", type=int, default=1, help="untimed rounds first (both sides), discarded"
    )
    parser.add_argument("--stops", type=int, default=5, help="Stop runs (median reported)")
    parser.add_argument(
        "--lateness-runs", type=int, default=2, help="window runs with the lateness probe"
    )
    parser.add_argument(
        "--lens", action="store_true", help="the window trains with the Lens dock open"
    )
    parser.add_argument(
        "--lens-ab",
        action="store_true",
        help="each round trains the window twice, with the Lens dock open and without it (in "
        "turn first), and the figure is their ratio: the load drifts alike on both",
    )
    args = parser.parse_args()
    args.lens = args.lens or args.lens_ab  # the warm-up and lateness runs have the lens open
    torch.set_num_threads(1)
    data = Path(tempfile.mkdtemp(prefix="dlstudio-bench-ui-"))
    os.environ["DLSTUDIO_DATA_DIR"] = str(data)
    os.environ["DLSTUDIO_NO_RECOVERY"] = "1"
    from dlstudio.gui.app import create_application

    app = create_application()
    print(
        f"LeNet-5 on digits, batch 32, {args.epochs} epochs, torch {torch.__version__}, "
        f"threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}"
        + (", the Lens dock open with thumbnails" if args.lens else "")
    )
    late: list[float] = []
    for round_ in range(args.warmup):  # first-time costs (fonts, plot items, caches) on neither
        engine_run(_graph(2), data / f"warmup-engine{round_}")
        for lens in (True, False) if args.lens_ab else (args.lens,):
            warm = WindowRun(app, _graph(2), lens=lens)
            warm.run()
            warm.close()
    if args.warmup:
        print(f"({args.warmup} warm-up round(s) of 2 epochs on each side, not counted)")
    engines: list[float] = []
    windows: list[float] = []
    if args.lens_ab:
        per_epoch = _lens_ab_rounds(app, args.rounds, args.epochs, data)
        args.rounds = 0
    for round_ in range(1, args.rounds + 1):
        engine, per_epoch = engine_run(_graph(args.epochs), data / f"engine{round_}")
        run = WindowRun(app, _graph(args.epochs), lens=args.lens)
        figures = run.run()
        run.close()
        window = per_epoch * figures["epochs"] / figures["seconds"]
        engines.append(engine)
        windows.append(window)
        lens_note = f", lens refreshes while training {run.lens_refreshes}" if args.lens else ""
        print(
            f"round {round_}: engine {engine:,.0f} samples/s, window {window:,.0f} samples/s, "
            f"ratio {window / engine:.3f}{lens_note}"
        )
    if engines:
        ratio = statistics.median(windows) / statistics.median(engines)
        low, high = _bootstrap_interval(engines, windows)
        paired = statistics.median(w / e for w, e in zip(windows, engines, strict=True))
        print(
            f"throughput window / engine: {ratio:.3f} (median window over median engine; 90 % "
            f"interval {low:.3f}-{high:.3f} by resampling the rounds; median of the rounds' own "
            f"ratios {paired:.3f}; target >= 0.95)"
        )
    for _ in range(args.lateness_runs):  # the probe wakes the GUI thread: runs of their own
        run = WindowRun(app, _graph(max(args.epochs, 10)), probe=True, lens=args.lens)
        figures = run.run()
        late += run.lateness()
        run.close()
        probed = per_epoch * figures["epochs"] / figures["seconds"]
        print(f"lateness run: window {probed:,.0f} samples/s with the 10 ms probe running")
    if late:
        print(
            f"event-loop lateness while training ({len(late)} ticks of {TICK_MS} ms): median "
            f"{statistics.median(late):.2f} ms, p99 {_p(late, 0.99):.2f} ms, "
            f"max {max(late):.2f} ms (target p99 <= 10 ms)"
        )
    stops = []
    for repeat in range(args.stops):
        run = WindowRun(app, _graph(max(args.epochs, 20)))
        with _timed_stop() as timing:
            figures = run.run(stop_after_steps=60 + 7 * repeat)
        run.close()
        # After the flag is set (a batch may start while Stop's handler runs, just before).
        started_after = sum(1 for t in timing["batch_starts"] if t > timing["flag_set"])
        stops.append(
            (
                (timing["halted"] - run.stop_at) * 1000,
                started_after,
                figures["stop_to_finished_ms"],
                timing["write_ms"],
                figures["stop_to_idle_ms"],
                32 / figures["samples_per_s"] * 1000,
            )
        )
    if not stops:
        return 0
    halt_ms, _, finished_ms, write_ms, idle_ms, batch_ms = (
        statistics.median(v) for v in zip(*stops, strict=True)
    )
    print(
        f"Stop, {len(stops)} runs (a batch takes {batch_ms:.1f} ms, median): batches started "
        f"after Stop: at most {max(s[1] for s in stops)} (target 0: the run ends with the batch "
        f"in progress); training halts {halt_ms:.1f} ms after Stop, median "
        f"(worst {max(s[0] for s in stops):.1f} ms); the run's end (FinishedEvent) reaches the "
        f"window after {finished_ms:.1f} ms, of which writing the resumable checkpoint "
        f"(fsynced) {write_ms:.1f} ms; worker thread done {idle_ms:.0f} ms after Stop"
    )
    return 0


def _window_throughput(app: QApplication, epochs: int, lens: bool) -> tuple[float, int]:
    """One window run's epochs a second of training time, and how many lens refreshes it
    started while training."""
    run = WindowRun(app, _graph(epochs), lens=lens)
    figures = run.run()
    run.close()
    return figures["epochs"] / figures["seconds"], run.lens_refreshes


def _lens_ab_rounds(app: QApplication, rounds: int, epochs: int, data: Path) -> int:
    """Rounds of: the engine, then the window with the Lens dock open and without it, in turn
    first (ABBA...), so a neighbour's load drifting during a round weighs on both. Prints
    the lens's cost as the ratio with / without, and each against the engine."""
    engines: list[float] = []
    with_lens: list[float] = []
    without: list[float] = []
    refreshes = 0
    per_epoch = 0
    for round_ in range(1, rounds + 1):
        engine, per_epoch = engine_run(_graph(epochs), data / f"engine{round_}")
        figures: dict[bool, float] = {}
        started = 0
        for lens in (True, False) if round_ % 2 else (False, True):
            epochs_per_s, count = _window_throughput(app, epochs, lens)
            figures[lens] = per_epoch * epochs_per_s
            started += count
        refreshes += started
        engines.append(engine)
        with_lens.append(figures[True])
        without.append(figures[False])
        print(
            f"round {round_}: engine {engine:,.0f}, window with the lens {figures[True]:,.0f}, "
            f"without {figures[False]:,.0f} samples/s; with / without "
            f"{figures[True] / figures[False]:.3f}, lens refreshes while training {started}"
        )
    if not engines:
        return per_epoch
    ratio = statistics.median(with_lens) / statistics.median(without)
    low, high = _bootstrap_interval(without, with_lens)
    paired = statistics.median(w / o for w, o in zip(with_lens, without, strict=True))
    print(
        f"window with the lens / without: {ratio:.3f} (median over median; 90 % interval "
        f"{low:.3f}-{high:.3f} by resampling the rounds; median of the rounds' own ratios "
        f"{paired:.3f}; target >= 0.95); lens refreshes while training: {refreshes} in all"
    )
    for label, windows in (("with the lens", with_lens), ("without", without)):
        ratio = statistics.median(windows) / statistics.median(engines)
        low, high = _bootstrap_interval(engines, windows)
        print(f"window {label} / engine: {ratio:.3f} (90 % interval {low:.3f}-{high:.3f})")
    return per_epoch


@contextlib.contextmanager
def _timed_stop():
    """When each batch started, when Stop set the run's flag, when the trainer saw it (its loop
    ends: no batch starts after this) and how long the checkpoint written then took."""
    from dlstudio.train import RunControl
    from dlstudio.train.trainer import Trainer

    original = Trainer._train_batch, Trainer._stopped, Trainer._save, RunControl.stop
    timing: dict = {"write_ms": 0.0, "batch_starts": []}

    def stop(self) -> None:
        original[3](self)
        timing["flag_set"] = time.perf_counter()

    def train_batch(self, *args) -> None:
        timing["batch_starts"].append(time.perf_counter())
        original[0](self, *args)

    def stopped(self):
        timing["halted"] = time.perf_counter()
        return original[1](self)

    def save(self) -> None:
        start = time.perf_counter()
        original[2](self)
        timing["write_ms"] = (time.perf_counter() - start) * 1000

    Trainer._train_batch, Trainer._stopped, Trainer._save = train_batch, stopped, save
    RunControl.stop = stop
    try:
        yield timing
    finally:
        Trainer._train_batch, Trainer._stopped, Trainer._save, RunControl.stop = original


if __name__ == "__main__":
    raise SystemExit(main())
