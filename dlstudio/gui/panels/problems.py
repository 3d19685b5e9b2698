"""The problems list: every diagnostic with its severity icon; click to go to the node, "Fix" to
apply the first suggested repair. Problems of the training data set (found by the Training
panel's check) are listed too, marked "Data set"."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from dlstudio.analysis import AnalysisResult, Diagnostic
from dlstudio.gui.document import EMPTY_MODEL_TEXT, Document
from dlstudio.gui.theme import RESOURCES, severity_icon

_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
_DIAG_ROLE = Qt.ItemDataRole.UserRole


def count_text(errors: int, warnings: int) -> str:
    """``3 errors, 1 warning`` (empty when there are neither): the words the Problems panel's
    title and the status bar share, so the two never disagree."""
    parts = [
        f"{count} {word}{'' if count == 1 else 's'}"
        for count, word in ((errors, "error"), (warnings, "warning"))
        if count
    ]
    return ", ".join(parts)


class _WrappingDelegate(QStyledItemDelegate):
    """Rows as tall as their wrapped message at the column's current width (a tree view asks
    its delegate for one line only, and the message was then cut with an ellipsis)."""

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        hint = super().sizeHint(option, index)
        view = self.parent()
        if index.column() != 0 or not isinstance(view, QTreeWidget):
            return hint
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        width = view.header().sectionSize(0)
        opt.rect = QRect(0, 0, width, hint.height())
        style = view.style()
        text_rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, view)
        margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 1
        bounds = opt.fontMetrics.boundingRect(
            QRect(0, 0, max(20, text_rect.width() - 2 * margin), 100_000),
            int(Qt.TextFlag.TextWordWrap),
            opt.text,
        )
        return QSize(hint.width(), max(hint.height(), bounds.height() + 6))


class ProblemsPanel(QTreeWidget):
    """Diagnostics of the latest analysis, errors first."""

    node_activated = Signal(str)
    """The node id of the problem the user clicked."""
    location_activated = Signal(tuple)
    """Node ids from the top graph down to the inner layer of a problem inside a block."""
    fix_requested = Signal(object)
    """A :class:`Diagnostic` whose first fix the user asked to apply."""
    fix_chosen = Signal(object, int)
    """A :class:`Diagnostic` and the index of another of its fixes, chosen from the menu."""
    counts_changed = Signal(int, int)
    """(errors, warnings), for the dock title and the status bar."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.setColumnCount(3)
        self.setHeaderLabels(("Problem", "Layer", ""))
        self.setRootIsDecorated(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(True)
        self.setWordWrap(True)  # messages name every offending value: show them whole
        self.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.setUniformRowHeights(False)
        self.setItemDelegateForColumn(0, _WrappingDelegate(self))
        header = self.header()
        # Rows get taller or shorter as the column narrows or widens (the wrap follows it).
        header.sectionResized.connect(lambda *_: self.scheduleDelayedItemsLayout())
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.itemClicked.connect(self._on_item_clicked)
        self.note = QLabel(self.viewport())
        self.note.setObjectName("problems_note")
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.RichText)
        self.note.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.note.setContentsMargins(8, 6, 8, 6)
        self.note.hide()
        self.note_text = ""
        """The note shown when no problem is listed ("" while problems are listed)."""
        self.diagnostics: list[Diagnostic] = []
        self.data_problems: tuple[Diagnostic, ...] = ()
        """What the training data set's check found wrong with the drawing (see
        :meth:`set_data_problems`)."""
        document.analysis_ready.connect(self._on_document_analysis_ready)
        document.reset.connect(lambda: self.set_data_problems(()))
        self._on_document_analysis_ready(document.analysis)

    def set_data_problems(self, problems: tuple[Diagnostic, ...] | list[Diagnostic]) -> None:
        """List these data-set problems (a 1000-way output for a 4-class set...) with the
        drawing's own; an empty list takes them away."""
        problems = tuple(problems)
        if problems != self.data_problems:
            self.data_problems = problems
            self._on_document_analysis_ready(self.document.analysis)

    def _on_document_analysis_ready(self, result: AnalysisResult) -> None:
        graph = self.document.graph
        self.diagnostics = sorted(
            [*result.diagnostics, *self.data_problems],
            key=lambda d: _SEVERITY_ORDER.get(d.severity, 3),
        )
        self.clear()
        for diagnostic in self.diagnostics:
            node_name = ""
            if diagnostic.node_id and diagnostic.node_id in graph:
                node_name = graph.node(diagnostic.node_id).name
            if diagnostic.path:
                node_name = diagnostic.path
            message = diagnostic.message
            if diagnostic in self.data_problems:
                message = f"Data set: {message.removeprefix('training data: ')}"
                node_name = node_name or "data set"
            item = QTreeWidgetItem(self, [message, node_name, ""])
            item.setIcon(0, severity_icon(diagnostic.severity))
            item.setToolTip(0, message)
            item.setData(0, _DIAG_ROLE, diagnostic)
            if diagnostic.fixes and diagnostic.node_id:
                self.setItemWidget(item, 2, self._fix_button(diagnostic))
        # With nothing listed, a wrapped note says what that means (the list's rows would cut
        # a sentence off at the column's edge).
        if self.document.is_empty:  # nothing wrong, but nothing to train either
            self._set_note("info", EMPTY_MODEL_TEXT)
        elif not self.diagnostics:
            self._set_note("ok", "No problems: ready to train and export.")
        else:
            self._set_note(None, "")
        errors = sum(d.is_error for d in self.diagnostics)
        warnings = sum(d.severity == "warning" for d in self.diagnostics)
        self.counts_changed.emit(errors, warnings)

    def _set_note(self, icon_name: str | None, text: str) -> None:
        self.note_text = text
        if icon_name is None:
            self.note.hide()
            return
        path = RESOURCES / "icons" / f"{icon_name}.svg"
        self.note.setText(f"<img src='{path}' width='14' height='14'> &nbsp;{text}")
        self.note.setGeometry(self.viewport().rect())
        self.note.show()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.note.setGeometry(self.viewport().rect())

    def _fix_button(self, diagnostic: Diagnostic) -> QWidget:
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(2, 0, 2, 0)
        button = QPushButton("Fix")
        button.setObjectName("fix_button")
        button.setToolTip(diagnostic.fixes[0].label)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.clicked.connect(lambda: self.fix_requested.emit(diagnostic))
        row.addWidget(button)
        if len(diagnostic.fixes) > 1:
            # The other repairs (e.g. "use the nll loss" besides "remove logp") in a menu.
            more = QToolButton()
            more.setObjectName("more_fixes_button")
            more.setText("More")
            more.setToolTip("other fixes")
            more.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
            menu = QMenu(more)
            for index, fix in enumerate(diagnostic.fixes[1:], start=1):
                action = menu.addAction(fix.label)
                action.triggered.connect(
                    lambda _checked=False, i=index: self.fix_chosen.emit(diagnostic, i)
                )
            more.setMenu(menu)
            row.addWidget(more)
        return holder

    def fix_button_for(self, row: int) -> QPushButton | None:
        """The Fix button of row ``row`` (None when that problem has no fix)."""
        item = self.topLevelItem(row)
        holder = self.itemWidget(item, 2) if item is not None else None
        return holder.findChild(QPushButton) if holder is not None else None

    def _on_item_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        diagnostic = item.data(0, _DIAG_ROLE)
        if not isinstance(diagnostic, Diagnostic) or not diagnostic.node_id:
            return
        if diagnostic.location and len(diagnostic.location) > 1:
            self.location_activated.emit(tuple(diagnostic.location))
        else:
            self.node_activated.emit(diagnostic.node_id)
