"""Re-run auto layout on the templates whose stored layout is too long to read fitted.

Run: ``python scripts/relayout_templates.py [NAME ...]``. Each template's node positions are
replaced by the auto layout for the canvas of a 1280 x 800 window (long models fold into bands);
everything else in the file is kept as it is. Templates that already fit readably are left alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dlstudio.analysis.layout import auto_layout
from dlstudio.core import load_project, save_project
from dlstudio.layers.validation import check_node

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
CANVAS = (770.0, 520.0)
"""The canvas of a 1280 x 800 window with its default panels."""
READABLE = 0.62


def _fit(positions: list[tuple[float, float]]) -> float:
    xs = [p[0] for p in positions]
    ys = [p[1] for p in positions]
    width = max(xs) - min(xs) + 260
    height = max(ys) - min(ys) + 150
    return min(CANVAS[0] / width, CANVAS[1] / height, 1.0)


def main(names: list[str]) -> int:
    """Re-lay-out the named templates (all when none is named); prints what changed."""
    paths = [TEMPLATES / f"{n}.json" for n in names] or sorted(TEMPLATES.glob("*.json"))
    for path in paths:
        graph = load_project(path, node_checker=check_node)
        before = _fit([tuple(n.position) for n in graph])
        if before >= READABLE:
            continue
        direction = graph.metadata.get("layout_direction", "TB")
        positions = auto_layout(graph, direction, CANVAS)
        after = _fit(list(positions.values()))
        for node_id, (x, y) in positions.items():
            graph.update_node(node_id, position=(float(round(x)), float(round(y))))
        save_project(graph, path)
        print(f"{path.name}: fitted zoom {before:.2f} -> {after:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
