"""Start the desktop program: QApplication, theme, the main window, the first document."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from dlstudio.gui.dialogs.template_gallery import TEMPLATES_DIR
from dlstudio.gui.theme import apply_theme, icon

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
        "--no-recovery", action="store_true", help="do not offer to recover unsaved work"
    )
    return parser.parse_args(argv)


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication with names, icon and theme set (reused when one exists)."""
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("DL Studio")
    app.setOrganizationName("DLStudio")
    app.setApplicationDisplayName("DL Studio")
    app.setWindowIcon(icon("app"))
    apply_theme(app)
    return app  # type: ignore[return-value]


def run(argv: list[str] | None = None) -> int:
    """Run the editor; returns the process exit code."""
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    app = create_application()
    from dlstudio.gui.main_window import MainWindow  # after the QApplication exists

    window = MainWindow()
    if args.screenshot:
        window.files.interactive = False
        width, _, height = args.size.partition("x")
        window.resize(int(width), int(height))
    else:
        window.restore_layout()
    if args.file:
        if not window.files.open_path(Path(args.file), ask=False):
            window.files.load_template(DEFAULT_TEMPLATE, ask=False)
    elif DEFAULT_TEMPLATE.exists():
        window.files.load_template(DEFAULT_TEMPLATE, ask=False)
    window.show()
    if args.screenshot:
        QTimer.singleShot(0, lambda: _screenshot_when_painted(window, Path(args.screenshot)))
    elif not args.no_recovery and not os.environ.get("DLSTUDIO_NO_RECOVERY"):
        QTimer.singleShot(0, window.files.offer_recovery)
    return app.exec()


def _select_showcase_node(window) -> None:
    """Select the first convolution (or any layer with parameters) so the panels show content."""
    graph = window.document.graph
    pick = next((n for n in graph if n.type_id.startswith("conv")), None)
    pick = pick or next((n for n in graph if n.params), None)
    if pick is not None:
        window.scene.select_nodes([pick.id])


def _screenshot_when_painted(window, path: Path) -> None:
    """Wait until the window is exposed and laid out, paint it, save it, quit."""
    app = QApplication.instance()
    for _ in range(5):  # a few passes let docks settle and the view fit the graph
        app.processEvents()
    window.frame_start()
    _select_showcase_node(window)
    app.processEvents()
    window.code_preview.refresh()
    path.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(path), "PNG")
    print(f"screenshot saved to {path}")
    app.quit()
