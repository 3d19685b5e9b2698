"""No canvas text under 9 px on screen, at any zoom: smaller text is left out, or the nodes
switch to their simplified (name only) form first. Block nodes show their telling parameters."""

from __future__ import annotations

from PySide6.QtGui import QImage, QPainter

from dlstudio.gui.canvas import style
from dlstudio.gui.canvas.block_item import BlockNodeItem
from tests.gui import fixtures_window

window = fixtures_window.window
data_dir = fixtures_window.data_dir


def _spy_on_text(monkeypatch) -> list[tuple[float, str]]:
    """Note the on-screen pixel size of every text the canvas items draw (their paint code
    calls QPainter.drawText from Python; the node caches are in device pixels, so the
    painter's scale is the zoom)."""
    sizes: list[tuple[float, str]] = []
    original = QPainter.drawText

    def spy(painter, *args):
        font = painter.font()
        pixels = font.pixelSize() if font.pixelSize() > 0 else font.pointSizeF() * 96 / 72
        text = next((a for a in args if isinstance(a, str)), "")
        sizes.append((pixels * painter.worldTransform().m22(), text))
        return original(painter, *args)

    monkeypatch.setattr(QPainter, "drawText", spy)
    return sizes


def test_no_canvas_text_is_drawn_under_9_px(window, qtbot, monkeypatch):
    sizes = _spy_on_text(monkeypatch)
    view = window.view
    image = QImage(view.viewport().size(), QImage.Format.Format_ARGB32)
    for template in ("resnet18", "transformer"):  # blocks with badges; long two-part names
        path = fixtures_window.REPO_ROOT / "templates" / f"{template}.json"
        window.files.load_template(path, ask=False)
        seen_full = seen_simple = False
        for zoom in (0.25, 0.4, 0.55, 0.62, 0.7, 0.74, 0.76, 0.85, 0.95, 1.0, 1.5):
            view.set_zoom(zoom)
            sizes.clear()
            painter = QPainter(image)
            view.render(painter, source=view.viewport().rect())
            painter.end()
            assert sizes, f"nothing drawn at {zoom}"
            small = [(round(px, 1), t) for px, t in sizes if px < style.MIN_TEXT_PX - 0.01]
            assert not small, f"{template}: text under 9 px at zoom {zoom}: {small[:5]}"
            seen_full |= zoom >= style.LOD_TEXT
            seen_simple |= zoom < style.LOD_TEXT
        assert seen_full and seen_simple
    # Block nodes show what they make; in_channels (the wire says it) is left out.
    window.files.load_template(fixtures_window.REPO_ROOT / "templates" / "resnet18.json", ask=False)
    graph = window.document.graph
    keys = {}
    for name in ("layer1", "layer2", "layer4"):
        item = window.scene.node_item(graph.node_by_name(name).id)
        assert isinstance(item, BlockNodeItem)
        keys[name] = item.key_text
    assert keys == {"layer1": "64ch", "layer2": "128ch s2", "layer4": "512ch s2"}
