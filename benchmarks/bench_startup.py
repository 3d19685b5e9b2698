"""Start-up: from launching ``python main.py`` to the window's first paint.

Run: ``QT_QPA_PLATFORM=offscreen python benchmarks/bench_startup.py [--repeats 5]`` (or with
``DISPLAY`` set and ``QT_QPA_PLATFORM=xcb`` for a real X window). Each repeat launches the
program in a fresh process with ``DLSTUDIO_STARTUP_PROBE`` set: it prints the time of its first
paint and of the training UI (which imports torch) being ready, then quits. For reference, the
same is measured for a bare PySide6 window with a QGraphicsView (the floor any Qt program
pays). Prints medians and the ratio to the 1.5 s budget.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 1.5

BARE = """
import sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QGraphicsScene, QGraphicsView, QMainWindow
app = QApplication(sys.argv[:1])
w = QMainWindow(); v = QGraphicsView(QGraphicsScene()); w.setCentralWidget(v); w.resize(1600, 1000)
class F(QObject):
    def eventFilter(self, o, e):
        if e.type() == QEvent.Type.Paint:
            print(f"first-paint {time.time():.4f}", flush=True); QTimer.singleShot(0, app.quit)
        return False
f = F(); v.viewport().installEventFilter(f); w.show(); app.exec()
"""


def _launch(argv: list[str], env: dict[str, str]) -> dict[str, float]:
    start = time.time()
    out = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    times = {}
    for line in out.stdout.splitlines():
        key, _, value = line.partition(" ")
        if key in ("first-paint", "training-ready"):
            times[key] = float(value) - start
    if "first-paint" not in times:
        raise SystemExit(f"no paint reported:\n{out.stdout}\n{out.stderr}")
    return times


def main() -> int:
    """Launch the program and the bare window a few times each, alternating; print medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["DLSTUDIO_STARTUP_PROBE"] = "1"
    env["DLSTUDIO_DATA_DIR"] = tempfile.mkdtemp(prefix="dlstudio-bench-start-")
    env["PYTHONPATH"] = str(ROOT)
    app, bare = [], []
    for _ in range(args.repeats):
        app.append(_launch([sys.executable, "main.py", "--no-recovery"], env))
        bare.append(_launch([sys.executable, "-c", BARE], env))
    paint = statistics.median(t["first-paint"] for t in app)
    ready = statistics.median(t["training-ready"] for t in app if "training-ready" in t)
    floor = statistics.median(t["first-paint"] for t in bare)
    print(f"platform {env['QT_QPA_PLATFORM']}, load average {os.getloadavg()[0]:.1f}")
    print(
        f"DL Studio, launch to first paint:      {paint:.2f} s (budget {BUDGET_S} s, "
        f"ratio {paint / BUDGET_S:.2f})"
    )
    print(f"DL Studio, launch to training UI ready: {ready:.2f} s (torch loads after the paint)")
    print(f"bare PySide6 window, first paint:      {floor:.2f} s (ratio {paint / floor:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
