"""Live, read-only preview of the Python the graph compiles to, with syntax highlighting.

Regenerated a moment after each analysis (debounced), so typing in a field stays responsive.
While the graph has errors it shows what to fix instead of code.
"""

from __future__ import annotations

import keyword
import re

from PySide6.QtCore import QRegularExpression, QTimer
from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from dlstudio.analysis import AnalysisResult
from dlstudio.gui.document import Document
from dlstudio.gui.theme import monospace_font

REFRESH_DELAY_MS = 250
"""Pause after the last analysis before the code is regenerated."""


def _format(color: str, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(color))
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    fmt.setFontItalic(italic)
    return fmt


class PythonHighlighter(QSyntaxHighlighter):
    """Keywords, builtins, decorators, numbers, strings (incl. triple-quoted) and comments."""

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        words = "|".join(keyword.kwlist)
        self._rules: list[tuple[QRegularExpression, QTextCharFormat]] = [
            (QRegularExpression(rf"\b({words})\b"), _format("#c792ea", bold=True)),
            (QRegularExpression(r"\b(self|super|int|float|tuple|list|dict)\b"), _format("#f07178")),
            (QRegularExpression(r"\b[A-Za-z_][A-Za-z0-9_]*(?=\()"), _format("#82aaff")),
            (QRegularExpression(r"@[A-Za-z_.]+"), _format("#ffcb6b")),
            (
                QRegularExpression(r"\b[0-9][0-9_]*(\.[0-9]+)?([eE][-+]?[0-9]+)?\b"),
                _format("#f78c6c"),
            ),
            (
                QRegularExpression(r"'[^'\\]*(\\.[^'\\]*)*'|\"[^\"\\]*(\\.[^\"\\]*)*\""),
                _format("#c3e88d"),
            ),
            (QRegularExpression(r"#[^\n]*"), _format("#697098", italic=True)),
        ]
        self._docstring = _format("#8fbf7f", italic=True)
        self._triple = QRegularExpression(r'"""|\'\'\'')

    def highlightBlock(self, text: str) -> None:
        for pattern, fmt in self._rules:
            matches = pattern.globalMatch(text)
            while matches.hasNext():
                match = matches.next()
                self.setFormat(match.capturedStart(), match.capturedLength(), fmt)
        self._highlight_triple_quotes(text)

    def _highlight_triple_quotes(self, text: str) -> None:
        # Block state 1 means "inside a triple-quoted string" carried over from the line above.
        start = 0 if self.previousBlockState() == 1 else -1
        search_from = 0
        if start < 0:
            match = self._triple.match(text)
            if not match.hasMatch():
                self.setCurrentBlockState(0)
                return
            start = match.capturedStart()
            search_from = start + 3
        while True:
            end_match = self._triple.match(text, search_from)
            if not end_match.hasMatch():
                self.setFormat(start, len(text) - start, self._docstring)
                self.setCurrentBlockState(1)
                return
            end = end_match.capturedEnd()
            self.setFormat(start, end - start, self._docstring)
            next_match = self._triple.match(text, end)
            if not next_match.hasMatch():
                self.setCurrentBlockState(0)
                return
            start = next_match.capturedStart()
            search_from = start + 3


class CodePreview(QPlainTextEdit):
    """Read-only generated source of the current graph."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document_model = document
        self.setReadOnly(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(monospace_font(10))
        self.setTabStopDistance(4 * self.fontMetrics().horizontalAdvance(" "))
        self.highlighter = PythonHighlighter(self.document())
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_DELAY_MS)
        self._timer.timeout.connect(self.refresh)
        document.analysis_ready.connect(self._on_document_analysis_ready)
        self.setPlainText("# The generated PyTorch code appears here.")
        self._timer.start()

    @property
    def pending(self) -> bool:
        """True while a refresh is scheduled."""
        return self._timer.isActive()

    def _on_document_analysis_ready(self, _result: AnalysisResult) -> None:
        self._timer.start()

    def refresh(self) -> None:
        """Regenerate the source now."""
        self._timer.stop()
        text = self._source_text()
        if text != self.toPlainText():
            scroll = self.verticalScrollBar().value()
            self.setPlainText(text)
            self.verticalScrollBar().setValue(scroll)  # keep the reader's place on each edit

    def _source_text(self) -> str:
        document = self.document_model
        graph = document.graph
        analysis = document.analysis
        if len(graph) == 0:
            return "# An empty model: add layers from the palette to see its PyTorch code."
        if analysis.has_errors:
            lines = [
                f"# The model has {len(analysis.errors)} error(s); fix them to see its code:",
                "#",
            ]
            lines += [f"#   - {_one_line(d.message)}" for d in analysis.errors[:12]]
            return "\n".join(lines)
        try:
            from dlstudio.compile import generate_source
        except ImportError:
            return "# The code generator is not available in this installation."
        try:
            return generate_source(graph, analysis)
        except Exception as exc:  # the preview must never take the editor down
            return f"# Could not generate code: {_one_line(str(exc))}"


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
