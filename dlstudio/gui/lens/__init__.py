"""The lens in the window: what each layer does to a pinned example."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QDockWidget

from dlstudio.gui.lens.controller import LensController
from dlstudio.gui.lens.panel import LensPanel

__all__ = ["LensController", "LensPanel", "install_lens"]


def install_lens(window: Any, training: Any = None) -> LensController:
    """Add the Lens dock to ``window`` (it joins the Properties/Code tabs on the right, behind
    the tab in front); returns its controller (the dock is ``controller.dock``)."""
    panel = LensPanel(window)
    dock = QDockWidget("Lens", window)
    dock.setObjectName("dock_lens")
    dock.setWidget(panel)
    window.add_side_dock(dock)
    controller = LensController(window, panel, dock, training)
    controller.schedule()
    return controller
