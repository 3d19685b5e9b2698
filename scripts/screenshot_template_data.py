"""Screenshot for docs/templates.md: ResNet-18 opened at 1024x700 on the generated shapes, with
the Training panel's data check (its 1000 ImageNet scores for 4 shapes: a warning, in amber)
and the same problem in the Problems panel.

Run under an X server (Xvfb is enough) with one CPU thread::

    Xvfb :28 -screen 0 1920x1080x24 &
    DISPLAY=:28 QT_QPA_PLATFORM=xcb OMP_NUM_THREADS=1 .venv/bin/python scripts/screenshot_template_data.py
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

OUT = ROOT / "docs" / "screenshots" / "template-resnet18-shapes-1024x700.png"


def settle(app: QApplication, seconds: float) -> None:
    """Let the window lay itself out and repaint."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def main() -> None:
    """Open ResNet-18, show the Training panel, wait for its data check, save the window."""
    import torch

    torch.set_num_threads(1)
    app = create_application()
    from dlstudio.gui.main_window import MainWindow

    window = MainWindow()
    window.resize(1024, 700)
    window.show()
    window.install_training()
    window.files.load_template(ROOT / "templates" / "resnet18.json", ask=False)
    settle(app, 1.0)
    window.training_ui.panel_dock.raise_()
    check = window.training.data_check
    deadline = time.monotonic() + 120
    while check.current() is None and time.monotonic() < deadline:
        settle(app, 0.2)
    settle(app, 3.0)
    window.grab().save(str(OUT), "PNG")
    print(f"saved {OUT}")
    window.document.undo_stack.set_clean()
    window.close()


if __name__ == "__main__":
    main()
