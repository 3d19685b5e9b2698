"""Canvas speed: opening, dragging and re-labelling for ResNet-18 and a 500-node graph.

Run: ``QT_QPA_PLATFORM=offscreen python benchmarks/bench_canvas.py``. Prints, per graph:

- build: Document (with its first analysis) + GraphScene + GraphView, and the first paint of a
  1600 x 1000 view fitted to the graph (rendered into a QImage);
- drag: mean / max time of one step of a node drag through 100 positions (a mergeable MoveNodes,
  as the mouse does, then a full render of the view into a QImage) at 100 % zoom and fitted;
  a full render every step is harsher than the real view, which repaints only what changed;
- edit -> labels: from a SetParam to the wire shape labels showing the new shape (analysis
  included).

Budgets: open in under 1 s, a drag frame under 16 ms (ratios printed against them).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from graphs import resnet_like
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication

from dlstudio.core import LayerGraph, MoveNodes, SetParam, load_project
from dlstudio.gui.canvas import GraphScene, GraphView
from dlstudio.gui.document import Document
from dlstudio.layers.validation import check_node

WIDTH, HEIGHT = 1600, 1000
OPEN_BUDGET_S = 1.0
FRAME_BUDGET_MS = 16.0


def _render(view: GraphView, image: QImage) -> None:
    painter = QPainter(image)
    view.render(painter)
    painter.end()


def _graphs() -> list[tuple[str, LayerGraph]]:
    template = Path(__file__).resolve().parents[1] / "templates" / "resnet18.json"
    if template.exists():
        first = ("resnet18 (template)", load_project(template, node_checker=check_node))
    else:
        first = ("resnet-like 70 (generated)", resnet_like(70, 64))
    return [first, ("resnet-like 500 (generated)", resnet_like(500))]


def bench(name: str, graph: LayerGraph, app: QApplication) -> None:
    """Print the figures for one graph."""
    image = QImage(WIDTH, HEIGHT, QImage.Format.Format_ARGB32_Premultiplied)
    t0 = time.perf_counter()
    document = Document(graph)
    scene = GraphScene(document)
    view = GraphView(scene)
    view.resize(WIDTH, HEIGHT)
    view.show()
    app.processEvents()
    t1 = time.perf_counter()
    view.fit_all()
    _render(view, image)
    t2 = time.perf_counter()
    print(f"{name}: {len(graph)} nodes, {len(graph.edges)} wires")
    print(
        f"  open: build {1000 * (t1 - t0):.0f} ms + first paint {1000 * (t2 - t1):.0f} ms "
        f"= {1000 * (t2 - t0):.0f} ms ({(t2 - t0) / OPEN_BUDGET_S:.2f} of the 1 s budget)"
    )
    ids = list(graph.nodes)
    node_id = ids[len(ids) // 2]
    x0, y0 = graph.node(node_id).position
    for label, zoom in (("100%", 1.0), ("fitted", None)):
        if zoom is None:
            view.fit_all()
        else:
            view.set_zoom(zoom)
            view.centerOn(scene.node_item(node_id))
        times = []
        for step in range(100):
            s = time.perf_counter()
            position = (x0 + 3.0 * step, y0 + (step % 10) * 2.0)
            document.push(MoveNodes({node_id: position}), mergeable=True)
            _render(view, image)
            times.append(1000 * (time.perf_counter() - s))
        document.undo_stack.end_merge()
        mean, worst = statistics.mean(times), max(times)
        print(
            f"  drag at {label:>6} (zoom {view.zoom():.2f}): mean {mean:.1f} ms, max {worst:.1f} ms"
            f" per frame ({mean / FRAME_BUDGET_MS:.2f} / {worst / FRAME_BUDGET_MS:.2f} of 16 ms)"
        )
    conv = next(n for n in graph if n.type_id == "conv2d")
    wire = scene.edge_item(graph.edges_out_of(conv.id)[0])
    channels = int(document.analysis.nodes[conv.id].params["out_channels"])
    s = time.perf_counter()
    document.push(SetParam(conv.id, "out_channels", channels + 1))
    while f", {channels + 1}," not in wire.label:
        app.processEvents()
    elapsed = 1000 * (time.perf_counter() - s)
    print(f"  edit -> updated shape labels: {elapsed:.1f} ms ({wire.label})")
    view.close()
    view.deleteLater()
    scene.deleteLater()
    app.processEvents()


def main() -> None:
    """Run the canvas benchmark and print its figures."""
    app = QApplication.instance() or QApplication(sys.argv)
    print(f"canvas benchmark ({os.environ['QT_QPA_PLATFORM']} platform, {WIDTH}x{HEIGHT} view)")
    for name, graph in _graphs():
        bench(name, graph, app)


if __name__ == "__main__":
    main()
