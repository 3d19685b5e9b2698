"""Start the desktop program: QApplication, theme, the main window, the first document."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

from dlstudio.core.files import atomic_path
from dlstudio.gui.dialogs.template_gallery import TEMPLATES_DIR
from dlstudio.gui.focus_return import install_dialog_focus_return
from dlstudio.gui.theme import apply_theme, icon

if TYPE_CHECKING:
    from dlstudio.gui.main_window import MainWindow

DEFAULT_TEMPLATE = TEMPLATES_DIR / "lenet5.json"
"""Shown at start when no file is given, as a new unsaved document."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command line: ``[FILE] [--screenshot PATH] [--size WxH]``."""
    parser = argparse.ArgumentParser(prog="dlstudio-gui", description="DL Studio editor")
    parser.add_argument("file", nargs="?", help="project file to open (default: LeNet-5 template)")
    parser.add_argument(
        "--screenshot",
        metavar="PATH",
        help="save a PNG of the window once it has painted, then quit (docs, visual checks)",
    )
    parser.add_argument("--size", default="1600x1000", help="window size for --screenshot")
    parser.add_argument(
        "--through",
        metavar="WxH",
        help="with --screenshot: resize the window to this size and back first (layout check)",
    )
    parser.add_argument(
        "--no-recovery", action="store_true", help="do not offer to recover unsaved work"
    )
    return parser.parse_args(argv)


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication with names, icon and theme set (reused when one exists)."""
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    assert isinstance(app, QApplication), "a QCoreApplication without widgets already runs"
    app.setApplicationName("DL Studio")
    app.setOrganizationName("DLStudio")
    app.setApplicationDisplayName("DL Studio")
    app.setWindowIcon(icon("app"))
    apply_theme(app)
    install_dialog_focus_return(app)
    return app


def run(argv: list[str] | None = None) -> int:
    """Run the editor; returns the process exit code."""
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    app = create_application()
    from dlstudio.gui.main_window import MainWindow  # after the QApplication exists

    # The training UI imports torch (over a second): it joins once the window has painted.
    window = MainWindow(training=False)
    screenshot = None
    if args.screenshot:
        screenshot = (Path(args.screenshot), _size(args.through) if args.through else None)
    FirstPaint(window, lambda painted: _after_first_paint(painted, screenshot))
    if args.screenshot:
        window.files.interactive = False
        window.resize(*_size(args.size))
    else:
        window.restore_layout()
    if args.file:
        if not window.files.open_path(Path(args.file), ask=False):
            window.files.load_template(DEFAULT_TEMPLATE, ask=False)
    elif DEFAULT_TEMPLATE.exists():
        window.files.load_template(DEFAULT_TEMPLATE, ask=False)
    window.show()
    if not args.screenshot and not args.no_recovery and not os.environ.get("DLSTUDIO_NO_RECOVERY"):
        QTimer.singleShot(0, window.files.offer_recovery)
    return app.exec()


STARTUP_PROBE_ENV = "DLSTUDIO_STARTUP_PROBE"
"""When set, print the times of the first paint and of the training UI being ready (seconds
since the epoch), then quit: ``benchmarks/bench_startup.py`` reads them."""


class FirstPaint(QObject):
    """Calls ``then(window)`` once, right after the canvas first paints."""

    def __init__(self, window, then) -> None:
        super().__init__(window)
        self.window = window
        self.then = then
        window.view.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, lambda: self.then(self.window))
        return False


def _after_first_paint(
    window: MainWindow, screenshot: tuple[Path, tuple[int, int] | None] | None
) -> None:
    """Install the training UI; then take the screenshot asked for (its file, and the size it
    should also be taken through) once the window has painted again."""
    probe = os.environ.get(STARTUP_PROBE_ENV)
    if probe:
        print(f"first-paint {time.time():.4f}", flush=True)
    try:
        window.install_training()
    finally:
        if probe:
            print(f"training-ready {time.time():.4f}", flush=True)
            QApplication.quit()
    if probe:
        return
    if screenshot is not None:
        path, through = screenshot
        QTimer.singleShot(0, lambda: _screenshot_when_painted(window, path, through))


def _select_showcase_node(window) -> None:
    """Select the first convolution (or any layer with parameters) so the panels show content."""
    graph = window.document.graph
    pick = next((n for n in graph if n.type_id.startswith("conv")), None)
    pick = pick or next((n for n in graph if n.params), None)
    if pick is not None:
        window.scene.select_nodes([pick.id])


def _size(text: str) -> tuple[int, int]:
    width, _, height = text.partition("x")
    return int(width), int(height)


def _settle(app, ms: int = 300) -> None:
    """Let resizes, dock layout passes and repaints happen."""
    end = time.monotonic() + ms / 1000
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def _screenshot_when_painted(window, path: Path, through: tuple[int, int] | None = None) -> None:
    """Wait until the window is exposed and laid out (after resizing it to ``through`` and
    back, if given), paint it, save it, quit."""
    app = QApplication.instance()
    assert app is not None, "the window's application runs"
    _settle(app)
    if through is not None:
        size = window.size()
        window.resize(*through)
        _settle(app)
        window.resize(size)
        _settle(app)
    window.frame_start()
    _select_showcase_node(window)
    app.processEvents()
    window.code_preview.refresh()
    with atomic_path(path) as tmp:
        window.grab().save(str(tmp), "PNG")
    print(f"screenshot saved to {path}")
    app.quit()
