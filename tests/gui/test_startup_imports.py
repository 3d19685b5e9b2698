"""The window paints before torch loads: nothing the editor imports up to its first paint may
import torch (it takes seconds), or start-up misses its 1.5 s budget (benchmarks/bench_startup.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
from PySide6.QtWidgets import QApplication
from dlstudio.gui import app as app_module

def at_first_paint(window, _screenshot=None):
    print("torch-loaded-before-paint" if "torch" in sys.modules else "torch-not-loaded", flush=True)
    window.install_training()
    print("training-ui-has-torch" if "torch" in sys.modules else "training-ui-no-torch", flush=True)
    QApplication.instance().quit()

app_module._after_first_paint = at_first_paint
sys.exit(app_module.run(["--no-recovery"]))
"""


def test_torch_loads_only_after_the_first_paint(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path), PYTHONPATH=str(ROOT))
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split()
    assert "torch-not-loaded" in lines, done.stdout + done.stderr
    assert "training-ui-has-torch" in lines, done.stdout
