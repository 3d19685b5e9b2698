"""The properties panel: the selected layer's parameters as widgets generated from its specs.

Every change becomes one undoable command (``SetParam``, ``RenameNode``, ``SetTrainable``) pushed
on the document; the panel then mirrors the graph, so undo updates it like any other view.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QFrame,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from dlstudio.analysis import AnalysisResult
from dlstudio.core import GraphEvent, RenameNode, SetParam, SetTrainable
from dlstudio.gui.document import Document
from dlstudio.gui.panels.param_editors import ParamEditor, format_value
from dlstudio.layers import LayerType, get_layer_type, has_layer_type


class PropertiesPanel(QScrollArea):
    """Edits one node: name, trainable, parameters; shows inferred values and the explanation."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.node_id: str | None = None
        self._layer: LayerType | None = None
        self.editors: dict[str, ParamEditor] = {}
        self.inferred_labels: dict[str, QLabel] = {}
        self.name_edit: QLineEdit | None = None
        self.trainable_box: QCheckBox | None = None
        self.output_label: QLabel | None = None
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        # The form follows the dock's width (texts wrap, fields shrink): never a sideways
        # scroll bar that hides the spin boxes' arrows.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        document.graph_event.connect(self._on_document_graph_event)
        document.analysis_ready.connect(self._on_document_analysis_ready)
        document.reset.connect(self._on_document_reset)
        self._show_placeholder("Select a layer to see and edit its parameters.")

    # ------------------------------------------------------------- selection
    def set_selection(self, node_ids: list[str]) -> None:
        """Show the one selected node, or a hint when zero or several are selected."""
        if len(node_ids) == 1 and node_ids[0] in self.document.graph:
            self.set_node(node_ids[0])
        elif node_ids:
            self.node_id = None
            self._show_placeholder(f"{len(node_ids)} layers selected.")
        else:
            self.node_id = None
            self._show_placeholder("Select a layer to see and edit its parameters.")

    def set_node(self, node_id: str | None) -> None:
        """Edit ``node_id`` (None clears the panel)."""
        if node_id is None or node_id not in self.document.graph:
            self.set_selection([])
            return
        node = self.document.graph.node(node_id)
        if node_id == self.node_id and self._layer is not None and self._layer.id == node.type_id:
            self._refresh_values()
            return
        self.node_id = node_id
        self._build(node.type_id)
        self._refresh_values()
        self._refresh_analysis(self.document.analysis)

    # -------------------------------------------------------------- building
    def _show_placeholder(self, text: str) -> None:
        self._layer = None
        self.editors = {}
        self.inferred_labels = {}
        self.name_edit = self.trainable_box = self.output_label = None
        label = QLabel(text)
        label.setProperty("role", "dim")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        label.setMargin(16)
        self.setWidget(label)

    def _build(self, type_id: str) -> None:
        page = QWidget()
        outer = QVBoxLayout(page)
        outer.setContentsMargins(10, 10, 10, 10)
        outer.setSpacing(8)
        self.editors = {}
        self.inferred_labels = {}
        if not has_layer_type(type_id):
            self._layer = None
            outer.addWidget(QLabel(f"Unknown layer type {type_id!r}."))
            outer.addStretch(1)
            self.setWidget(page)
            return
        layer = self._layer = get_layer_type(type_id)
        heading = QLabel(layer.label)
        heading.setProperty("role", "heading")
        summary = QLabel(layer.summary)
        summary.setProperty("role", "dim")
        summary.setWordWrap(True)
        outer.addWidget(heading)
        outer.addWidget(summary)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # In a narrow dock a long label goes above its field instead of pushing it off.
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("name_edit")
        self.name_edit.editingFinished.connect(self._on_name_finished)
        form.addRow("name", self.name_edit)
        for spec in layer.params:
            editor = ParamEditor(spec, page)
            editor.committed.connect(self._on_editor_committed)
            self.editors[spec.name] = editor
            label = QLabel(spec.title)
            label.setToolTip(spec.help)
            form.addRow(label, editor.container)
        self.trainable_box = QCheckBox("update weights in training")
        self.trainable_box.setToolTip("Untick to freeze this layer's weights (fine-tuning).")
        self.trainable_box.toggled.connect(self._on_trainable_toggled)
        form.addRow("trainable", self.trainable_box)
        for name in layer.inferred:
            value = QLabel("—")
            value.setProperty("role", "dim")
            value.setToolTip("Inferred from the incoming tensor; read-only.")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.inferred_labels[name] = value
            form.addRow(f"{name.replace('_', ' ')} (inferred)", value)
        self.output_label = QLabel("—")
        self.output_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("output", self.output_label)
        outer.addLayout(form)

        explanation = QLabel(layer.explanation)
        explanation.setWordWrap(True)
        formula = QLabel(layer.formula)
        formula.setProperty("role", "formula")
        formula.setWordWrap(True)
        formula.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        outer.addWidget(line)
        outer.addWidget(explanation)
        outer.addWidget(formula)
        outer.addStretch(1)
        self.setWidget(page)

    # ------------------------------------------------------------ refreshing
    def _refresh_values(self) -> None:
        if self.node_id is None or self._layer is None:
            return
        node = self.document.graph.node(self.node_id)
        values, _problems = self._layer.resolve_params({})
        for key, raw in node.params.items():
            spec = self._layer.param_spec(key)
            if spec is None:
                continue
            try:
                values[key] = spec.validate(raw)
            except Exception:  # an invalid stored value is shown as written; analysis reports it
                values[key] = raw
        for name, editor in self.editors.items():
            editor.set_value(values.get(name))
        if self.name_edit is not None and not self.name_edit.hasFocus():
            self.name_edit.setText(node.name)
        if self.trainable_box is not None:
            self.trainable_box.blockSignals(True)
            self.trainable_box.setChecked(node.trainable)
            self.trainable_box.blockSignals(False)

    def _refresh_analysis(self, result: AnalysisResult) -> None:
        if self.node_id is None or self.output_label is None:
            return
        info = result.nodes.get(self.node_id)
        for name, label in self.inferred_labels.items():
            value = info.inferred.get(name) if info else None
            label.setText(format_value(value) if value is not None else "— (connect an input)")
        if info is None or not info.outputs:
            self.output_label.setText("—")
        else:
            self.output_label.setText("  ".join(str(spec) for spec in info.outputs.values()))

    # ------------------------------------------------------------------ slots
    def _on_editor_committed(self, name: str, value: Any) -> None:
        if self.node_id is not None and not self.document.push(SetParam(self.node_id, name, value)):
            self._refresh_values()

    def _on_name_finished(self) -> None:
        if self.node_id is None or self.name_edit is None:
            return
        name = self.name_edit.text().strip()
        node = self.document.graph.node(self.node_id)
        if name == node.name:
            return
        if not self.document.push(RenameNode(self.node_id, name)):
            self.name_edit.setText(node.name)  # refused (empty or taken): show the real name

    def _on_trainable_toggled(self, checked: bool) -> None:
        if self.node_id is not None:
            self.document.push(SetTrainable(self.node_id, checked))

    def _on_document_graph_event(self, event: GraphEvent) -> None:
        if self.node_id is None or event.node_id != self.node_id:
            return
        if event.kind == GraphEvent.NODE_REMOVED:
            self.set_selection([])
        elif event.kind == GraphEvent.NODE_CHANGED and event.detail != "position":
            if event.detail == "name" and self.name_edit is not None:
                self.name_edit.setText(self.document.graph.node(self.node_id).name)
            self._refresh_values()

    def _on_document_analysis_ready(self, result: AnalysisResult) -> None:
        self._refresh_analysis(result)

    def _on_document_reset(self) -> None:
        self.set_selection([])
