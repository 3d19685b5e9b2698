"""The lens's cost: a refresh against one plain forward pass, and thumbnails against a frame.

    .venv/bin/python benchmarks/bench_lens.py [--threads 1] [--repeats 30]

For LeNet-5 and ResNet-18 (the templates, random weights, one example) it times, by process CPU
time (a busy neighbour does not inflate it), the median of ``repeats`` rounds of:
- ``forward``: the compiled module called on the example under ``torch.no_grad()``;
- ``capture``: the lens's pass on the same example, every node's value kept;
- ``lens``: the engine's whole run: the capture plus each node's view (min, max, mean, std and
  its kind), without pictures;
- ``draw``: drawing every node's thumbnail (96 px).
Printed: the figures and lens / forward (target <= 2), plus drawing apart.

Then 100 thumbnails in a Qt scene: the median time of painting the view that shows them all
(offscreen), against the 16 ms of a 60 Hz frame.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch  # noqa: E402

from dlstudio.compile import compile_graph, make_inputs  # noqa: E402
from dlstudio.core import load_project  # noqa: E402
from dlstudio.lens.engine import THUMBNAIL, LensEngine, draw  # noqa: E402
from dlstudio.lens.examples import Example  # noqa: E402


def cpu_ms(fn, repeats: int) -> float:
    """Median process CPU milliseconds of ``fn()`` over ``repeats`` calls (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append((time.process_time() - start) * 1000)
    return statistics.median(times)


def bench_model(name: str, repeats: int) -> None:
    graph = load_project(ROOT / "templates" / f"{name}.json")
    torch.manual_seed(0)
    compiled = compile_graph(graph)
    module = compiled.module.eval()
    inputs = make_inputs(compiled.code.inputs, 1, compiled.analysis.bindings)
    engine = LensEngine(graph, compiled)
    example = Example(inputs, "noise")

    def forward() -> None:
        with torch.no_grad():
            module(*inputs)

    result = engine.run(example, thumbnails=False)

    def drawing() -> None:
        for node_id, view in result.views.items():
            draw(result.values[node_id][0][0], view.kind, None, None, THUMBNAIL)

    plain = cpu_ms(forward, repeats)
    captured = cpu_ms(lambda: engine.capture(example), repeats)
    lens = cpu_ms(lambda: engine.run(example, thumbnails=False), repeats)
    pictures = cpu_ms(drawing, max(3, repeats // 5))
    print(
        f"{name:<9} {len(result.views):>3} nodes  forward {plain:7.2f} ms  capture "
        f"{captured:7.2f} ms ({captured / plain:4.2f}x)  with statistics {lens:7.2f} ms "
        f"({lens / plain:4.2f}x)  + thumbnails {pictures:6.1f} ms"
    )


def bench_thumbnails(count: int, repeats: int) -> None:
    import numpy as np
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QApplication, QGraphicsPixmapItem, QGraphicsScene

    from dlstudio.gui.lens.panel import to_pixmap

    app = QApplication.instance() or QApplication([])
    scene = QGraphicsScene()
    rng = np.random.default_rng(0)
    for i in range(count):
        picture = rng.integers(0, 255, (THUMBNAIL, THUMBNAIL, 3), dtype=np.uint8)
        item = QGraphicsPixmapItem(to_pixmap(picture))
        item.setPos((i % 10) * 110, (i // 10) * 110)
        scene.addItem(item)
    target = QImage(1920, 1080, QImage.Format.Format_ARGB32_Premultiplied)

    def paint() -> None:
        painter = QPainter(target)
        scene.render(painter, QRectF(0, 0, 1920, 1080), scene.itemsBoundingRect())
        painter.end()

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        paint()
        times.append((time.perf_counter() - start) * 1000)
    app.processEvents()
    print(f"{count} thumbnails: paint {statistics.median(times):.2f} ms (frame budget 16 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), CPU time medians")
    for name in ("lenet5", "resnet18"):
        bench_model(name, args.repeats if name == "lenet5" else max(5, args.repeats // 3))
    bench_thumbnails(100, args.repeats)


if __name__ == "__main__":
    main()
