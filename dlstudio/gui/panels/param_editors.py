"""One editor widget per :class:`ParamSpec` kind, each emitting ``committed(value)`` only with a
value the spec has validated.

Text kinds (sizes, padding, dims, shapes, text) are validated as the user types: invalid text
turns the field red and shows the spec's message; nothing is committed until it is valid.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from dlstudio.layers import ParamError, ParamSpec

_INT_LIMIT = 2**31 - 1


def format_value(value: Any) -> str:
    """How a parameter value is written in a text field: ``5, 5`` for a tuple."""
    if value is None:
        return ""
    if isinstance(value, (tuple, list)):
        return ", ".join(str(v) for v in value)
    return str(value)


def parse_text(spec: ParamSpec, text: str) -> Any:
    """Text typed for ``spec`` as a validated value, or :class:`ParamError` saying why not."""
    stripped = text.strip()
    if spec.kind == "str":
        return spec.validate(text)
    if not stripped:
        if spec.optional:
            return None
        raise ParamError(f"{spec.name} needs a value")
    if spec.kind in ("int", "float"):
        try:
            number: Any = int(stripped) if spec.kind == "int" else float(stripped)
        except ValueError:
            raise ParamError(f"{spec.name} must be a number, got {stripped!r}") from None
        return spec.validate(number)
    if spec.kind == "padding" and stripped.lower() in ("same", "valid"):
        return spec.validate(stripped.lower())
    tokens = [t for t in re.split(r"[\s,x×*]+", stripped.strip("()[] ")) if t]
    values: list[Any] = []
    for token in tokens:
        token = token.strip("'\"")
        if re.fullmatch(r"[+-]?\d+", token):
            values.append(int(token))
        elif spec.kind == "shape":
            values.append(token)  # a symbolic size such as T; validate() checks the name
        else:
            raise ParamError(f"{spec.name}: {token!r} is not a whole number")
    if spec.kind in ("size", "padding") and len(values) == 1:
        return spec.validate(values[0])
    return spec.validate(tuple(values))


class ParamEditor(QObject):
    """Wraps the widget for one parameter; ``committed`` carries a validated value."""

    committed = Signal(str, object)
    """(parameter name, validated value)."""

    def __init__(self, spec: ParamSpec, parent: QWidget) -> None:
        super().__init__(parent)
        self.spec = spec
        self.error_label = QLabel(parent)
        self.error_label.setProperty("role", "error")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.editor = self._make_editor(parent)
        self.editor.setToolTip(spec.help)
        self.editor.setObjectName(f"param_{spec.name}")
        self.container = QWidget(parent)
        box = QVBoxLayout(self.container)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(self.editor)
        box.addWidget(self.error_label)
        self._value: Any = None

    # ------------------------------------------------------------- building
    def _make_editor(self, parent: QWidget) -> QWidget:
        spec = self.spec
        if spec.kind == "bool":
            box = QCheckBox(parent)
            box.toggled.connect(self._on_check_toggled)
            return box
        if spec.kind == "choice":
            combo = QComboBox(parent)
            for choice in spec.choices:
                combo.addItem(str(choice), choice)
            combo.currentIndexChanged.connect(self._on_combo_changed)
            return combo
        if spec.kind == "int" and not spec.optional:
            spin = QSpinBox(parent)
            spin.setRange(
                int(spec.minimum) if spec.minimum is not None else -_INT_LIMIT,
                int(min(spec.maximum, _INT_LIMIT)) if spec.maximum is not None else _INT_LIMIT,
            )
            spin.setKeyboardTracking(False)  # one command per finished edit, not per digit
            spin.setAccelerated(True)
            spin.valueChanged.connect(self._on_spin_changed)
            return spin
        # An eps such as BERT's 1e-12 would show (and be saved) as 0 with six decimals, so
        # eps values are typed as text.
        if spec.kind == "float" and not spec.optional and not spec.name.endswith("eps"):
            dspin = QDoubleSpinBox(parent)
            dspin.setDecimals(6)
            dspin.setRange(
                spec.minimum if spec.minimum is not None else -1e12,
                spec.maximum if spec.maximum is not None else 1e12,
            )
            dspin.setStepType(QDoubleSpinBox.StepType.AdaptiveDecimalStepType)
            dspin.setKeyboardTracking(False)
            dspin.valueChanged.connect(self._on_spin_changed)
            return dspin
        line = QLineEdit(parent)
        line.setPlaceholderText(_placeholder(spec))
        line.textEdited.connect(self._on_line_edited)
        line.editingFinished.connect(self._on_line_finished)
        return line

    # ------------------------------------------------------------- values
    def set_value(self, value: Any) -> None:
        """Show ``value`` without committing it (the model changed, e.g. on undo)."""
        changed = value != self._value
        self._value = value
        editor = self.editor
        editor.blockSignals(True)
        try:
            if isinstance(editor, QCheckBox):
                editor.setChecked(bool(value))
            elif isinstance(editor, QComboBox):
                index = editor.findData(value)
                editor.setCurrentIndex(max(index, 0))
            elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
                editor.setValue(value if value is not None else 0)
            elif isinstance(editor, QLineEdit) and (changed or not editor.hasFocus()):
                # While the user types in this field, a refresh caused by another edit (or the
                # analysis) must not overwrite their half-typed text.
                self._set_line_text(editor, format_value(value))
                self._show_error(None)
        finally:
            editor.blockSignals(False)

    def _set_line_text(self, line: QLineEdit, text: str) -> None:
        if line.text() == text:
            return
        cursor = min(line.cursorPosition(), len(text))
        line.setText(text)
        line.setCursorPosition(cursor)

    def _commit(self, value: Any) -> None:
        if value == self._value:
            return
        self._value = value
        self.committed.emit(self.spec.name, value)

    def _on_check_toggled(self, checked: bool) -> None:
        self._commit(bool(checked))

    def _on_combo_changed(self, index: int) -> None:
        self._commit(self.editor.itemData(index))  # type: ignore[attr-defined]

    def _on_spin_changed(self, value: float) -> None:
        try:
            self._commit(self.spec.validate(value))
        except ParamError as exc:
            self._show_error(str(exc))

    def _on_line_edited(self, text: str) -> None:
        try:
            parse_text(self.spec, text)
        except ParamError as exc:
            self._show_error(str(exc))
        else:
            self._show_error(None)

    def _on_line_finished(self) -> None:
        line = self.editor
        assert isinstance(line, QLineEdit)
        try:
            value = parse_text(self.spec, line.text())
        except ParamError as exc:
            self._show_error(str(exc))
            return
        self._show_error(None)
        self._set_line_text(line, format_value(value))  # show the normalised form: 5 -> 5, 5
        self._commit(value)

    def _show_error(self, message: str | None) -> None:
        invalid = message is not None
        if self.editor.property("invalid") != invalid:
            self.editor.setProperty("invalid", invalid)
            # Re-polish so the [invalid="true"] style rule applies immediately.
            self.editor.style().unpolish(self.editor)
            self.editor.style().polish(self.editor)
        self.error_label.setText(message or "")
        self.error_label.setVisible(invalid)

    @property
    def error(self) -> str | None:
        """The validation message shown under the field, or None when the text is valid."""
        return self.error_label.text() if self.editor.property("invalid") else None


def _placeholder(spec: ParamSpec) -> str:
    if spec.kind == "size":
        return "e.g. 3 or 3, 3"
    if spec.kind == "padding":
        return "e.g. 1, 1, same or valid"
    if spec.kind == "dims":
        return "e.g. 0, 2, 1"
    if spec.kind == "shape":
        return "e.g. 1, 28, 28 or T"
    if spec.optional:
        return "not set"
    return ""
