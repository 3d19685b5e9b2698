"""A scroll area that scrolls vertically only and is never narrower than what it holds, so a
dock showing it keeps its content's minimum width and nothing is cut off at the right edge.

Its content is as tall as it needs to be at the width it gets: word-wrapped labels (a data
set's description, a warning) take more lines when the dock is narrow, and a scroll area on its
own sizes its widget from a height hint taken at another width, so such labels were squeezed
and drawn over the rows around them."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QWidget


class VerticalScroll(QScrollArea):
    """Holds ``content`` (resized to the area's width), scrolling it up and down."""

    def __init__(self, content: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(content)
        content.installEventFilter(self)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        content = self.widget()
        if content is None:
            return hint
        bar = self.verticalScrollBar().sizeHint().width()
        return QSize(max(hint.width(), content.minimumSizeHint().width() + bar), hint.height())

    def fit_content_height(self) -> None:
        """Give the content the height its layout needs at the viewport's width."""
        content = self.widget()
        if content is None:
            return
        layout = content.layout()
        if layout is None or not layout.hasHeightForWidth():
            return
        height = layout.totalHeightForWidth(self.viewport().width())
        if height > 0 and content.minimumHeight() != height:
            content.setMinimumHeight(height)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit_content_height()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.fit_content_height()  # a label's text changed: it may need more lines now
        return False
