"""pyqtgraph makes each plot's context menus (``PlotItem.ctrlMenu``, ``ViewBox.menu``) without
a parent, so they outlive the window that showed the plot: every closed main window left 42
top-level menus behind. Our plots have no context menu; :func:`disable_plot_menus` turns them
off and gives them an owner, so Qt deletes them with it."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QWidget


def disable_plot_menus(plot: pg.PlotItem, owner: QWidget) -> None:
    """No context menu on ``plot``; its menus are deleted with ``owner``."""
    plot.setMenuEnabled(False)
    for menu in (plot.ctrlMenu, getattr(plot.getViewBox(), "menu", None)):
        if menu is not None and menu.parent() is None:
            menu.setParent(owner, menu.windowFlags())
