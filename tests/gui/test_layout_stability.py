"""Controls never move under the pointer, and panels keep usable sizes when training starts."""

from __future__ import annotations

import graph_builders
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QWidget

from dlstudio.gui.document import Document
from dlstudio.gui.training.panel import TrainingPanel


def _where(widget: QWidget, panel: QWidget) -> tuple[QPoint, int]:
    return widget.mapTo(panel, QPoint(0, 0)), widget.width()


def test_run_buttons_and_fields_stay_put_whatever_the_status_says(qtbot):
    panel = TrainingPanel(Document(graph_builders.iris_mlp()))
    qtbot.addWidget(panel)
    panel.resize(300, 760)
    panel.show()
    qtbot.waitExposed(panel)
    qtbot.wait(20)
    watched = (panel.start_button, panel.pause_button, panel.stop_button, panel.device_combo)
    before = [_where(w, panel) for w in watched]
    long = "Run run-20261207-035252: completed, 10 epoch(s), epoch 10 (last) val loss 0.06161"
    panel.set_progress(0.5, long * 3, "50 %")
    panel.show_banner("The last run trained the model as it was at 03:52:52; " * 3)
    panel.set_state("running")
    qtbot.wait(20)
    assert [_where(w, panel) for w in watched] == before
    panel.set_state("paused")  # Resume takes Pause's place: Stop does not move
    qtbot.wait(20)
    assert _where(panel.resume_button, panel) == before[1]
    assert _where(panel.stop_button, panel) == before[2]
    assert panel.progress_label.toolTip() == long * 3  # the whole text, however it is cut
