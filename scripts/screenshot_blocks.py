"""Screenshots of the block editor for docs/editor.md: a small ResNet built from blocks, fitted
to the view, and the inside of one of its blocks with the breadcrumb.

Run under a real X server (Xvfb is enough); each picture is taken from the screen with
ImageMagick's ``import -window root``::

    Xvfb :28 -screen 0 1600x1000x24 &
    DISPLAY=:28 QT_QPA_PLATFORM=xcb .venv/bin/python scripts/screenshot_blocks.py

Until ``templates/resnet18.json`` is rebuilt with blocks, the model is built here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from build_templates import GraphBuilder  # noqa: E402
from PySide6.QtCore import Qt, QTimer  # noqa: E402

from dlstudio.analysis.layout import auto_layout  # noqa: E402
from dlstudio.core import LayerGraph  # noqa: E402
from dlstudio.core.blocks import BlockParam  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def small_resnet() -> LayerGraph:
    """A CIFAR-sized ResNet: BasicBlock and DownBlock definitions, stages of them."""
    m = GraphBuilder("resnet-blocks")
    channels = BlockParam("channels", "int", 64, "Output channels of both convolutions.", 1)
    d = m.define("BasicBlock", (channels,), "Two 3x3 convolutions and a skip connection.")
    x = d.input("x", (64, 32, 32))
    y = d.layer(
        "conv2d", "conv1", x, out_channels="=channels", kernel_size=3, padding=1, bias=False
    )
    y = d.layer("batchnorm2d", "bn1", y)
    y = d.layer("relu", "relu1", y)
    y = d.layer(
        "conv2d", "conv2", y, out_channels="=channels", kernel_size=3, padding=1, bias=False
    )
    y = d.layer("batchnorm2d", "bn2", y)
    y = d.layer("add", "add", y, x)
    y = d.layer("relu", "relu2", y)
    d.output(y, "out")
    d.end_block()
    d = m.define(
        "DownBlock", (channels,), "A BasicBlock that halves the size: stride 2 and a 1x1 skip."
    )
    x = d.input("x", (64, 32, 32))
    y = d.layer(
        "conv2d",
        "conv1",
        x,
        out_channels="=channels",
        kernel_size=3,
        stride=2,
        padding=1,
        bias=False,
    )
    y = d.layer("batchnorm2d", "bn1", y)
    y = d.layer("relu", "relu1", y)
    y = d.layer(
        "conv2d", "conv2", y, out_channels="=channels", kernel_size=3, padding=1, bias=False
    )
    y = d.layer("batchnorm2d", "bn2", y)
    s = d.layer(
        "conv2d", "downsample", x, out_channels="=channels", kernel_size=1, stride=2, bias=False
    )
    s = d.layer("batchnorm2d", "down_bn", s)
    y = d.layer("add", "add", y, s)
    y = d.layer("relu", "relu2", y)
    d.output(y, "out")
    d.end_block()
    d = m.define("Stage", (channels,), "One DownBlock, then one BasicBlock.")
    x = d.input("x", (64, 32, 32))
    y = d.block("DownBlock", "down", x, channels="=channels")
    y = d.block("BasicBlock", "block", y, channels="=channels")
    d.output(y, "out")
    d.end_block()
    d = m.define("Stem", (), "A 3x3 convolution to 64 channels, batch norm, ReLU.")
    x = d.input("x", (3, 32, 32))
    y = d.layer("conv2d", "conv1", x, out_channels=64, kernel_size=3, padding=1, bias=False)
    y = d.layer("batchnorm2d", "bn1", y)
    y = d.layer("relu", "relu", y)
    d.output(y, "out")
    d.end_block()
    classes = BlockParam("classes", "int", 10, "Number of classes.", 1)
    d = m.define("Head", (classes,), "Global average pooling and the classifier.")
    x = d.input("x", (512, 4, 4))
    y = d.layer("adaptive_avgpool2d", "avgpool", x, output_size=(1, 1))
    y = d.layer("flatten", "flatten", y)
    y = d.layer("dense", "fc", y, units="=classes")
    d.output(y, "out")
    d.end_block()
    x = m.input("image", (3, 32, 32))
    y = m.block("Stem", "stem", x)
    y = m.block("BasicBlock", "layer1", y, repeat=2, channels=64)
    for k, width in ((2, 128), (3, 256), (4, 512)):
        y = m.block("Stage", f"layer{k}", y, channels=width)
    y = m.block("Head", "head", y, classes=10)
    m.output(y)
    for node_id, position in auto_layout(m.graph, "TB").items():
        m.graph.update_node(node_id, position=position)
    return m.graph


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
    graph = small_resnet()
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

    steps = [
        (model_view, None),
        (lambda: None, OUT / "blocks-model.png"),
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
