"""Rows the properties panel adds for blocks: the definition's name of an instance (renaming it
renames the definition, undoably), and parameters written as block expressions (``=channels``)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from dlstudio.core.blocks import BlockDefinition
from dlstudio.core.expressions import ExpressionError, contains_expression, parse
from dlstudio.gui.panels.param_editors import format_value, parse_text
from dlstudio.layers import ParamError, ParamSpec


def expression_text(value: Any) -> str:
    """How an expression value is written: ``=channels * 4``, ``=k, =k`` for a list."""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def parse_expression_text(spec: ParamSpec, text: str) -> Any:
    """Typed text as a parameter value: an expression (``=channels``) is kept as text after a
    syntax check; anything else is validated by the spec. :class:`ParamError` says why not."""
    stripped = text.strip()
    if stripped.startswith("="):
        try:
            parse(stripped)
        except ExpressionError as exc:
            raise ParamError(f"{spec.name}: {exc}") from None
        return stripped
    return parse_text(spec, stripped)


class ExpressionEditor(QObject):
    """A text field for a parameter that refers to the block's parameters. Typing a plain
    value replaces the expression; typing ``=...`` keeps one."""

    committed = Signal(str, object)
    """(parameter name, value): the expression text or a validated value."""

    def __init__(self, spec: ParamSpec, parent: QWidget) -> None:
        super().__init__(parent)
        self.spec = spec
        self.container = QWidget(parent)
        box = QVBoxLayout(self.container)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        self.editor = QLineEdit(self.container)
        self.editor.setObjectName(f"param_{spec.name}")
        self.editor.setToolTip(
            f"{spec.help}\nThis value is computed from the block's parameters; type a number "
            "to replace it, or another expression such as =channels * 4."
        )
        self.editor.editingFinished.connect(self._on_editing_finished)
        self.error_label = QLabel(self.container)
        self.error_label.setProperty("role", "error")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        box.addWidget(self.editor)
        box.addWidget(self.error_label)
        self._value: Any = None

    def set_value(self, value: Any) -> None:
        """Show ``value`` (an expression, or a plain value) without committing it."""
        self._value = value
        if not self.editor.hasFocus():
            text = expression_text(value) if contains_expression(value) else format_value(value)
            self.editor.setText(text)

    @property
    def error(self) -> str | None:
        """The message under the field, or None."""
        return None if self.error_label.isHidden() else self.error_label.text()

    def _on_editing_finished(self) -> None:
        try:
            value = parse_expression_text(self.spec, self.editor.text())
        except ParamError as exc:
            self.error_label.setText(str(exc))
            self.error_label.show()
            return
        self.error_label.hide()
        if value != self._value:
            self._value = value
            self.committed.emit(self.spec.name, value)


def definition_name_edit(parent: QWidget, name: str) -> QLineEdit:
    """The field showing an instance's definition name; editing it renames the definition
    (every instance follows)."""
    edit = QLineEdit(name, parent)
    edit.setObjectName("definition_edit")
    edit.setToolTip(
        "The block definition this node is an instance of. Renaming it renames the block "
        "for every instance (and the class in the generated code)."
    )
    return edit


def instance_explanation(definition: BlockDefinition) -> str:
    """What the panel says under an instance's fields: what the block holds, its parameters,
    and that edits inside apply to every instance."""
    layers = [n for n in definition.graph if n.type_id not in ("input", "output")]
    params = ", ".join(p.name for p in definition.params) or "none"
    parts = [definition.description] if definition.description else []
    parts.append(
        f"Block {definition.name}: {len(layers)} layers inside; its parameters: {params}. "
        "Open it to edit its layers: the change applies to every instance of the block."
    )
    return "\n\n".join(parts)


def condition_choices(definition: BlockDefinition | None, current: str | None) -> list[str]:
    """What the "only when" box offers a layer inside ``definition``: each bool parameter and
    its negation (and the current condition, even when it no longer names one)."""
    flags = [p.name for p in definition.params if p.kind == "bool"] if definition else []
    choices = [text for name in flags for text in (name, f"not {name}")]
    if current is not None and current not in choices:
        choices.append(current)
    return choices


def condition_box(parent: QWidget, choices: list[str]) -> QComboBox:
    """The "only when" box: "always" (the layer is always there) or a block parameter."""
    box = QComboBox(parent)
    box.setObjectName("condition_box")
    box.addItem("always", None)
    for text in choices:
        box.addItem(text, text)
    box.setToolTip(
        "Make this layer optional: it exists only where the chosen true/false block parameter "
        "holds; elsewhere its input passes straight through (like torchvision's downsample)."
    )
    return box
