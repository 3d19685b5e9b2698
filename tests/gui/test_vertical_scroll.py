"""The settings scroll area gives wrapped labels the lines they need at the width they get."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QFormLayout, QLabel, QLineEdit, QWidget

from dlstudio.gui.vertical_scroll import VerticalScroll

LONG = (
    "the model outputs 1000 scores per prediction but shapes has 4 classes: scores 4..999 "
    "belong to no class (training pushes them down); set the last layer's output size to 4"
)


def test_a_wrapped_label_in_a_narrow_scroll_never_covers_the_next_row(qtbot) -> None:
    content = QWidget()
    form = QFormLayout(content)
    top = QLineEdit("data set")
    note = QLabel(LONG)
    note.setWordWrap(True)
    below = QLineEdit("options")
    form.addRow("Data set", top)
    form.addRow("", note)
    form.addRow("Options", below)
    scroll = VerticalScroll(content)
    qtbot.addWidget(scroll)
    for width in (240, 320, 600):
        scroll.resize(width, 200)
        scroll.show()
        QApplication.processEvents()
        QApplication.processEvents()
        needed = note.heightForWidth(note.width())
        assert note.height() >= needed, (width, note.height(), needed)
        assert note.geometry().bottom() < below.geometry().top(), width
        assert note.geometry().top() > top.geometry().bottom(), width
    # Text that grows after the layout was made (a new warning) gets its lines too.
    note.setText(LONG * 2)
    QApplication.processEvents()
    QApplication.processEvents()
    assert note.geometry().bottom() < below.geometry().top()
