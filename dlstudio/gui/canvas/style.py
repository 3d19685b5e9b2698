"""The canvas look: one dark-neutral palette, node metrics and fonts, shared by every item."""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QColor, QFont

NODE_WIDTH = 180.0
"""Node boxes have one width so auto-layout columns line up (the layout spaces them 240 apart)."""
NODE_HEIGHT = 70.0
"""Height of a node box; the layout's 120 px rows leave a 50 px lane for wire labels."""
NODE_RADIUS = 7.0
STRIPE_WIDTH = 5.0
PORT_RADIUS = 5.0
GRID_SIZE = 20.0
"""Snap step for moved nodes; also the spacing of the background grid."""
MIN_TEXT_PX = 9.0
"""No canvas text is drawn smaller than this on screen: smaller text is left out (port names)
or the node switches to its simplified form first."""
TEXT_PX = {"title": 13.0, "label": 12.0, "params": 12.0, "count": 12.0, "port": 10.0, "wire": 12.0}
"""Pixel sizes of the canvas fonts at 100 % zoom."""
LOD_TEXT = MIN_TEXT_PX / min(TEXT_PX[r] for r in ("title", "label", "params", "count", "wire"))
"""Below this zoom (75 %) the full node's texts (name, type, key parameters, count) and the
wires' shapes would be drawn under MIN_TEXT_PX: nodes switch to the simplified form, a box with
only the name, drawn large."""


def readable(role: str, lod: float) -> bool:
    """True when text of ``role`` is at least MIN_TEXT_PX on screen at zoom ``lod``."""
    return TEXT_PX[role] * lod >= MIN_TEXT_PX - 1e-6


LOD_NAMES = 0.1
"""Below this zoom a name at its smallest readable size would be taller than a layout row:
nodes are plain boxes in their category's colour (names would only pile onto each other)."""
NAME_MIN_PX = 9.0
"""Smallest on-screen pixel size of a simplified node's name; it grows with the zoom."""
NAME_MAX_PX = 15.0
"""Largest on-screen pixel size of a simplified node's name (bigger reads as shouting)."""

BACKGROUND = QColor("#1e2024")
GRID_LINE = QColor("#23262b")
GRID_LINE_MAJOR = QColor("#2a2d33")
NODE_FILL = QColor("#2b2e34")
NODE_FILL_FROZEN = QColor("#26282d")
NODE_BORDER = QColor("#454a53")
NODE_BORDER_SELECTED = QColor("#5aa9ff")
ERROR = QColor("#ff5c5c")
WARNING = QColor("#ffa94d")
OK = QColor("#63d297")
TEXT = QColor("#e8eaed")
TEXT_MUTED = QColor("#9aa0a8")
TEXT_PARAMS = QColor("#c7ccd4")
WIRE = QColor("#8c939e")
WIRE_SELECTED = QColor("#5aa9ff")
WIRE_LABEL = QColor("#a9b0ba")
PORT_FILL = QColor("#1e2024")
PORT_RING = QColor("#b8bec7")
PORT_HOVER = QColor("#5aa9ff")
HATCH = QColor(255, 255, 255, 18)

CATEGORY_COLORS: dict[str, QColor] = {
    "Input / Output": QColor("#9aa5b1"),
    "Dense": QColor("#5b8def"),
    "Convolution": QColor("#43b581"),
    "Pooling": QColor("#2fb6c4"),
    "Normalization": QColor("#b48ead"),
    "Activation": QColor("#f2b84b"),
    "Reshape": QColor("#8e9bd6"),
    "Embedding": QColor("#e07a5f"),
    "Recurrent": QColor("#d16ba5"),
    "Attention": QColor("#c678dd"),
    "Sequence": QColor("#7fb069"),
    "Merge": QColor("#e5c07b"),
    "Blocks": QColor("#4fc1e9"),
}
"""The stripe on the left of each node, by catalogue category."""


def category_color(category: str) -> QColor:
    """The stripe colour of a category (grey for one added later and not styled yet)."""
    return CATEGORY_COLORS.get(category, QColor("#9aa5b1"))


@cache
def font(role: str) -> QFont:
    """The font for ``title``, ``label``, ``params``, ``count``, ``port`` or ``wire`` text, or
    ``name`` (a simplified node's name; callers set its pixel size for the zoom)."""
    f = QFont()
    f.setFamilies(["Inter", "Segoe UI", "Helvetica Neue", "DejaVu Sans", "sans-serif"])
    f.setPixelSize(round(TEXT_PX.get(role, 13.0)))  # pixels: the same on every screen
    if role in ("title", "name"):
        f.setWeight(QFont.Weight.DemiBold)
    if role in ("params", "wire"):
        f.setFamilies(["JetBrains Mono", "Consolas", "Menlo", "DejaVu Sans Mono", "monospace"])
    f.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
    return f
