"""Screenshots of training from the editor for docs/training-ui.md: LeNet-5 trained on the
digits in the real window at 1024x700, 1366x768 and 1920x1080 (the curves after the run, the
Training panel beside them).

Run under an X server (Xvfb is enough) with one CPU thread::

    Xvfb :28 -screen 0 1920x1080x24 &
    DISPLAY=:28 QT_QPA_PLATFORM=xcb OMP_NUM_THREADS=1 .venv/bin/python scripts/screenshot_training.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication  # noqa: E402

from dlstudio.gui.app import create_application  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SIZES = ((1024, 700), (1366, 768), (1920, 1080))


def settle(app: QApplication, seconds: float) -> None:
    """Let the window lay itself out and repaint."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def main() -> None:
    """Train LeNet-5 once per window size and save the window after the run."""
    import torch

    torch.set_num_threads(1)
    app = create_application()
    from dlstudio.gui.main_window import MainWindow

    wanted = sys.argv[1:]  # e.g. 1024x700; none: every size
    for width, height in SIZES:
        if wanted and f"{width}x{height}" not in wanted:
            continue
        window = MainWindow()
        window.resize(width, height)
        window.show()
        window.install_training()
        window.files.load_template(ROOT / "templates" / "lenet5.json", ask=False)
        settle(app, 1.0)
        window.training_ui.actions["train"].trigger()
        deadline = time.monotonic() + 300
        training = window.training
        # Train checks the data set on a worker first, then the run starts.
        while (training.waiting_for_data or training.is_running) and time.monotonic() < deadline:
            settle(app, 0.2)
        settle(app, 1.0)
        path = OUT / f"training-{width}x{height}.png"
        window.grab().save(str(path), "PNG")
        print(f"saved {path}")
        window.document.undo_stack.set_clean()
        window.close()
        settle(app, 0.5)


if __name__ == "__main__":
    main()
