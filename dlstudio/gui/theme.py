"""Look and feel: a dark Fusion palette, readable fonts, a few style rules, and the icons.

One place decides colours so docks, tables and the code preview agree with each other.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtGui import QColor, QFont, QFontDatabase, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QWidget

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
"""The repository's ``resources/`` folder (icons)."""

WINDOW = QColor("#25272b")
BASE = QColor("#1d1f22")
ALT_BASE = QColor("#222428")
TEXT = QColor("#d8dbe0")
DIM_TEXT = QColor("#8b9099")
ACCENT = QColor("#3d7bd9")
ERROR = QColor("#e5534b")
WARNING = QColor("#e0a526")
OK = QColor("#4caf7d")

_STYLE = """
QMainWindow::separator { background: #1a1b1e; width: 6px; height: 6px; }
QMainWindow::separator:hover { background: #3a3d43; }
QDockWidget { titlebar-close-icon: none; font-weight: 600; }
QDockWidget::title { background: #2d3035; padding: 5px 8px; border-bottom: 1px solid #1a1b1e; }
QToolBar { background: #2a2c31; border: none; border-bottom: 1px solid #1a1b1e; spacing: 2px;
           padding: 3px; }
QToolBar::separator { background: #3a3d43; width: 1px; margin: 4px 6px; }
QToolButton { border: 1px solid transparent; border-radius: 4px; padding: 3px; }
QToolButton:hover { background: #363a40; border-color: #41454c; }
QToolButton:checked { background: #2f4a70; border-color: #3d7bd9; }
QTabBar::tab { background: #2a2c31; color: #a9aeb6; padding: 5px 12px; border: 1px solid #1a1b1e;
               border-bottom: none; }
QTabBar::tab:selected { background: #1d1f22; color: #e6e8eb; border-top: 2px solid #3d7bd9; }
QHeaderView::section { background: #2d3035; color: #c2c6cc; padding: 4px 6px; border: none;
                       border-right: 1px solid #1a1b1e; border-bottom: 1px solid #1a1b1e; }
QTreeView, QTableView, QListView, QPlainTextEdit { border: none; }
QLineEdit { padding: 3px 5px; border: 1px solid #3a3d43; border-radius: 3px;
            background: #1d1f22; min-height: 18px; }
QLineEdit:focus { border-color: #3d7bd9; }
QSpinBox, QDoubleSpinBox, QComboBox { min-height: 22px; }
QLineEdit[invalid="true"] { border: 1px solid #e5534b; background: #3a2224; }
QCheckBox::indicator, QTreeView::indicator { width: 14px; height: 14px; border-radius: 3px;
    border: 1px solid #5f6570; background: #1d1f22; }
QCheckBox::indicator:hover { border-color: #3d7bd9; }
QCheckBox::indicator:checked { background: #3d7bd9; border-color: #3d7bd9;
    image: url(@ICONS@/checkmark.svg); }
QCheckBox::indicator:disabled { border-color: #3a3d43; background: #25272b; }
QLabel[role="error"] { color: #f07b74; }
QLabel[role="warning"] { color: #e8b54a; }
QLabel[role="dim"] { color: #8b9099; }
QLabel[role="heading"] { font-size: 13pt; font-weight: 600; }
QLabel[role="formula"] { font-family: monospace; background: #1d1f22; padding: 6px;
                         border-radius: 3px; }
QStatusBar { background: #2a2c31; color: #a9aeb6; }
QPushButton { padding: 4px 12px; border: 1px solid #41454c; border-radius: 3px;
              background: #33363c; }
QPushButton:hover { background: #3c4047; }
QPushButton:default { border-color: #3d7bd9; }
"""


def apply_theme(app: QApplication) -> None:
    """Fusion style, dark palette, a readable UI font and the shared style sheet."""
    app.setStyle("Fusion")
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: WINDOW,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: BASE,
        QPalette.ColorRole.AlternateBase: ALT_BASE,
        QPalette.ColorRole.ToolTipBase: QColor("#2d3035"),
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.PlaceholderText: DIM_TEXT,
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: QColor("#2f3237"),
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.BrightText: QColor("#ffffff"),
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: QColor("#ffffff"),
        QPalette.ColorRole.Link: QColor("#6fa8ff"),
        QPalette.ColorRole.Mid: QColor("#3a3d43"),
        QPalette.ColorRole.Dark: QColor("#1a1b1e"),
    }
    for role, color in roles.items():
        palette.setColor(role, color)
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.ButtonText,
    ):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b7078"))
    app.setPalette(palette)
    font = QFont(app.font())
    font.setPointSizeF(max(font.pointSizeF(), 10.0))
    app.setFont(font)
    app.setStyleSheet(_STYLE.replace("@ICONS@", (RESOURCES / "icons").as_posix()))


def monospace_font(point_size: float = 10.0) -> QFont:
    """The system's fixed-width font, for code and shapes."""
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSizeF(point_size)
    return font


def set_role(widget: QWidget, role: str) -> None:
    """Give ``widget`` the style sheet's ``role`` (error, warning, dim...) and restyle it now
    (Qt applies a changed property only when the widget is polished again)."""
    if widget.property("role") != role:
        widget.setProperty("role", role)
        widget.style().unpolish(widget)
        widget.style().polish(widget)


@cache
def icon(name: str) -> QIcon:
    """The icon ``resources/icons/<name>.svg`` (an empty icon when the file is missing)."""
    path = RESOURCES / "icons" / f"{name}.svg"
    return QIcon(str(path)) if path.exists() else QIcon()


def severity_icon(severity: str) -> QIcon:
    """The icon of a diagnostic severity (error, warning, info)."""
    return icon(severity if severity in ("error", "warning", "info") else "info")
