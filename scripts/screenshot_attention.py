"""Screenshot of the attention heatmap for docs/training-ui.md: the ``transformer`` template
trained on ``reverse`` (its own settings, one CPU thread, about half a minute), then the
Attention tab on the last decoder layer's cross-attention, where reversing shows as the
anti-diagonal (target step t looks at source step L-1-t).

Run under a real X server (Xvfb is enough); the picture is taken from the screen with
ImageMagick's ``import -window root``::

    Xvfb :28 -screen 0 1600x1000x24 &
    DISPLAY=:28 QT_QPA_PLATFORM=xcb DLSTUDIO_DATA_DIR=/tmp/dlstudio-shots \\
        .venv/bin/python scripts/screenshot_attention.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PySide6.QtCore import Qt, QTimer  # noqa: E402

OUT = ROOT / "docs" / "screenshots" / "attention-heatmap-reverse.png"
SITE = "decoder2.multihead_attn (cross-attention)"


def grab(path: Path) -> None:
    """The whole screen, as the user sees it."""
    subprocess.run(["import", "-window", "root", str(path)], check=True)
    print(f"saved {path}")


def main() -> int:
    import torch

    from dlstudio.gui.app import create_application
    from dlstudio.gui.main_window import MainWindow
    from dlstudio.layers.validation import load_checked

    torch.manual_seed(0)
    app = create_application()
    window = MainWindow(training=True)
    window.files.interactive = False
    graph = load_checked(ROOT / "templates" / "transformer.json")
    window.document.replace_graph(graph)
    window.move(0, 0)
    window.resize(1600, 1000)
    window.show()
    controller = window.training
    view = controller.monitor.attention

    def start() -> None:
        window.view.fit_all()
        controller.panel.threads_spin.setValue(1)
        controller.run_finished.connect(lambda _record: QTimer.singleShot(300, open_map))
        controller.start()

    def open_map() -> None:
        view.maps_shown.connect(pick_site)
        decoder = graph.node_by_name("decoder2")
        window.scene.select_nodes([decoder.id])
        window.scene.attention_requested.emit((decoder.id,))

    def pick_site() -> None:
        view.maps_shown.disconnect(pick_site)
        labels = [view.site_box.itemText(i) for i in range(view.site_box.count())]
        view.site_box.setCurrentIndex(labels.index(SITE))
        window.resizeDocks([window.training_ui.monitor_dock], [560], Qt.Orientation.Vertical)
        window.resizeDocks([window.training_ui.monitor_dock], [820], Qt.Orientation.Horizontal)
        QTimer.singleShot(900, shoot)

    def shoot() -> None:
        app.processEvents()
        matrix = view.matrix
        print("rows sum to", matrix.sum(axis=1).round(4).tolist())
        print("anti-diagonal mean weight", float(matrix[::-1].diagonal().mean()))
        grab(OUT)
        window.document.undo_stack.set_clean()
        app.quit()

    QTimer.singleShot(1500, start)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
