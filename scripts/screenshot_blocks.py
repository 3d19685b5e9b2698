"""Screenshots of the block editor for docs/editor.md: the ResNet-18 template (built from blocks)
fitted to the view at two window sizes, and the inside of one of its blocks with the breadcrumb.

Run under a real X server (Xvfb is enough); each picture is taken from the screen with
ImageMagick's ``import -window root``::

    Xvfb :28 -screen 0 1600x1000x24 &
    DISPLAY=:28 QT_QPA_PLATFORM=xcb .venv/bin/python scripts/screenshot_blocks.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from PySide6.QtCore import Qt, QTimer  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def grab(path: Path) -> None:
    """The whole screen, as the user sees it."""
    subprocess.run(["import", "-window", "root", str(path)], check=True)
    print(f"saved {path}")


def main() -> int:
    from dlstudio.gui.app import create_application
    from dlstudio.gui.main_window import MainWindow

    app = create_application()
    window = MainWindow()
    window.files.interactive = False
    from dlstudio.layers.validation import load_checked

    graph = load_checked(ROOT / "templates" / "resnet18.json")
    window.document.replace_graph(graph)
    window.move(0, 0)
    window.resize(1600, 1000)
    window.show()
    steps = []

    def model_view() -> None:
        window.resizeDocks([window.summary_dock], [230], Qt.Orientation.Vertical)
        app.processEvents()
        window.view.fit_all()
        window.scene.select_nodes([graph.node_by_name("layer1").id])
        window.summary.select_location((graph.node_by_name("layer2").id,))
        window.summary.item_of((graph.node_by_name("layer2").id,)).setExpanded(True)

    def inside_view() -> None:
        layer1 = graph.node_by_name("layer1").id
        window.scene.open_block(layer1)

    def select_inside() -> None:
        inner = window.document.blocks["BasicBlock"].graph
        window.view.fit_all()
        window.scene.select_nodes([inner.node_by_name("conv1").id])

    def small_window() -> None:
        window.resize(1024, 700)
        app.processEvents()
        window.view.fit_all()

    def large_window() -> None:
        window.resize(1600, 1000)
        app.processEvents()

    steps = [
        (model_view, None),
        (lambda: None, OUT / "blocks-model.png"),
        (small_window, None),
        (lambda: None, OUT / "blocks-model-1024x700.png"),
        (large_window, None),
        (inside_view, None),
        (select_inside, None),
        (lambda: None, OUT / "block-inside.png"),
    ]

    def next_step() -> None:
        if not steps:
            window.document.undo_stack.set_clean()
            app.quit()
            return
        action, shot = steps.pop(0)
        action()
        if shot is not None:
            app.processEvents()
            grab(shot)
        QTimer.singleShot(700, next_step)

    QTimer.singleShot(1500, next_step)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
