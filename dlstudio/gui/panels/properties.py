"""The properties panel: the selected layer's parameters as widgets generated from its specs.

Every change becomes one undoable command (``SetParam``, ``RenameNode``, ``SetTrainable``) pushed
on the document; the panel then mirrors the graph, so undo updates it like any other view.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from dlstudio.analysis import AnalysisResult
from dlstudio.analysis.blocks import block_layer_type
from dlstudio.core import (
    GraphEvent,
    LayerNode,
    RenameNode,
    SetCondition,
    SetParam,
    SetTrainable,
)
from dlstudio.core.block_commands import RenameDefinition
from dlstudio.core.blocks import BLOCK_TYPE
from dlstudio.core.expressions import contains_expression
from dlstudio.gui.blocks import properties_rows as block_rows
from dlstudio.gui.blocks.level import DocumentLevel
from dlstudio.gui.blocks.properties_rows import ExpressionEditor
from dlstudio.gui.document import GraphDocument
from dlstudio.gui.panels.param_editors import ParamEditor, format_value
from dlstudio.gui.panels.param_relevance import unused_params
from dlstudio.layers import LayerType, get_layer_type, has_layer_type
from dlstudio.layers.spec import no_params

STATISTICS_LAYERS = frozenset({"batchnorm1d", "batchnorm2d", "batchnorm3d"})
"""Layer types that keep running statistics (buffers) even without learned weights."""


def has_weights_or_statistics(type_id: str, info: object | None) -> bool:
    """True for layers freezing can keep something of: weights, or running statistics. A node
    the analysis could not count yet (no input) gets the box when its type can have weights."""
    if type_id in STATISTICS_LAYERS or type_id == "block":
        return True
    count = getattr(info, "param_count", None)
    if count is None:
        return has_layer_type(type_id) and get_layer_type(type_id).count_params is not no_params
    return count > 0


def _layer_of(node: LayerNode, document: GraphDocument) -> LayerType | None:
    """The catalogue entry of a node; for a block instance, its definition's description."""
    if node.type_id == BLOCK_TYPE:
        definition = document.blocks.get(str(node.params.get("block")))
        return block_layer_type(definition) if definition is not None else None
    return get_layer_type(node.type_id) if has_layer_type(node.type_id) else None


def _shape(node: LayerNode) -> tuple:
    """What the panel's widgets depend on: the type, which parameters are expressions, and
    for an instance its definition's name and parameters."""
    exprs = tuple(sorted(k for k, v in node.params.items() if contains_expression(v)))
    block = node.params.get("block") if node.type_id == BLOCK_TYPE else None
    return (node.id, node.type_id, exprs, block)


class PropertiesPanel(QScrollArea):
    """Edits one node: name, trainable, parameters; shows inferred values and the explanation."""

    def __init__(self, document: GraphDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.node_id: str | None = None
        self._layer: LayerType | None = None
        self.editors: dict[str, ParamEditor | ExpressionEditor] = {}
        self.inferred_labels: dict[str, QLabel] = {}
        self.name_edit: QLineEdit | None = None
        self.trainable_box: QCheckBox | None = None
        self.output_label: QLabel | None = None
        self.definition_edit: QLineEdit | None = None
        self.condition_box: QComboBox | None = None
        self._shape: tuple = ()
        self._form: QFormLayout | None = None
        """The parameter form (None while the placeholder shows)."""
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
        if node_id == self.node_id and self._layer is not None and self._shape == _shape(node):
            self._refresh_values()
            return
        self.node_id = node_id
        self._shape = _shape(node)
        self._build(node.type_id)
        self._refresh_values()
        self._refresh_analysis(self.document.analysis)

    # -------------------------------------------------------------- building
    def _show_placeholder(self, text: str) -> None:
        self._layer = None
        self._form = None
        self.editors = {}
        self.inferred_labels = {}
        self.name_edit = self.trainable_box = self.output_label = None
        self.definition_edit = None
        self.condition_box = None
        self._shape = ()
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
        node = self.document.graph.node(self.node_id) if self.node_id else None
        layer = self._layer = _layer_of(node, self.document) if node else None
        self._form = None
        if layer is None or node is None:
            problem = f"Unknown layer type {type_id!r}."
            if type_id == BLOCK_TYPE and node is not None:
                problem = f"There is no block definition {node.params.get('block')!r}."
            outer.addWidget(QLabel(problem))
            outer.addStretch(1)
            self.setWidget(page)
            return
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
        expressions = {k for k, v in node.params.items() if contains_expression(v)}
        if type_id == BLOCK_TYPE:
            self.definition_edit = block_rows.definition_name_edit(page, layer.label)
            self.definition_edit.editingFinished.connect(self._on_definition_finished)
            form.addRow("block", self.definition_edit)
        for spec in layer.params:
            if type_id == BLOCK_TYPE and spec.name in ("block", "weights"):
                continue
            editor: ParamEditor | ExpressionEditor
            if spec.name in expressions:
                editor = ExpressionEditor(spec, page)
            else:
                editor = ParamEditor(spec, page)
            editor.committed.connect(self._on_editor_committed)
            self.editors[spec.name] = editor
            label = QLabel(spec.title)
            label.setToolTip(spec.help)
            form.addRow(label, editor.container)
        self.trainable_box = None
        info = self.document.analysis.nodes.get(node.id)
        if has_weights_or_statistics(type_id, info):
            self.trainable_box = QCheckBox("update weights in training")
            self.trainable_box.setToolTip(
                "Untick to freeze this layer: its weights and statistics stay as they are "
                "(fine-tuning); frozen BatchNorm normalises with its stored statistics."
            )
            self.trainable_box.toggled.connect(self._on_trainable_toggled)
            form.addRow("trainable", self.trainable_box)
        self._add_condition_row(page, form, node, layer)
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
        self._form = form

        text = layer.explanation
        if type_id == BLOCK_TYPE:
            weights = node.params.get("weights")
            if weights:
                form.addRow("weights", QLabel(str(weights)))
            definition = self.document.blocks[str(node.params["block"])]
            text = block_rows.instance_explanation(definition)
            level = self.document
            if isinstance(level, DocumentLevel):
                button = QPushButton(f"Edit inside {definition.name}")
                button.setObjectName("open_block_button")
                button.setToolTip("Open the block's layers (or double-click the node)")
                button.clicked.connect(lambda: level.enter(node.id))
                outer.addWidget(button)
        explanation = QLabel(text)
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
        if layer.formula:
            outer.addWidget(formula)
        outer.addStretch(1)
        self.setWidget(page)

    def _add_condition_row(self, page: QWidget, form: QFormLayout, node, layer) -> None:
        """Inside a block with true/false parameters, a one-input layer can be optional."""
        self.condition_box = None
        name = self.document.definition if isinstance(self.document, DocumentLevel) else None
        definition = self.document.blocks.get(name) if name else None
        if node.type_id in ("input", "output") or len(layer.input_ports(node.params)) != 1:
            return
        choices = block_rows.condition_choices(definition, node.when)
        if not choices:
            return
        self.condition_box = block_rows.condition_box(page, choices)
        self.condition_box.currentIndexChanged.connect(self._on_condition_chosen)
        form.addRow("only when", self.condition_box)

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
        if self._form is not None:
            unused = unused_params(node.type_id, values)
            for name, editor in self.editors.items():
                self._form.setRowVisible(editor.container, name not in unused)
        if self.name_edit is not None and not self.name_edit.hasFocus():
            self.name_edit.setText(node.name)
        if self.trainable_box is not None:
            self.trainable_box.blockSignals(True)
            self.trainable_box.setChecked(node.trainable)
            self.trainable_box.blockSignals(False)
        if self.condition_box is not None:
            self.condition_box.blockSignals(True)
            self.condition_box.setCurrentIndex(max(0, self.condition_box.findData(node.when)))
            self.condition_box.blockSignals(False)

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

    def _on_definition_finished(self) -> None:
        if self.node_id is None or self.definition_edit is None:
            return
        node = self.document.graph.node(self.node_id)
        old, new = str(node.params.get("block")), self.definition_edit.text().strip()
        if new == old:
            return
        level = self.document
        root = level.document if isinstance(level, DocumentLevel) else level
        if not root.push(RenameDefinition(old, new)):
            self.definition_edit.setText(old)  # refused (invalid or taken): show the real name

    def _on_condition_chosen(self, _index: int) -> None:
        if self.node_id is None or self.condition_box is None:
            return
        when = self.condition_box.currentData()
        if when != self.document.graph.node(self.node_id).when:
            self.document.push(SetCondition(self.node_id, when))

    def _on_trainable_toggled(self, checked: bool) -> None:
        if self.node_id is not None:
            self.document.push(SetTrainable(self.node_id, checked))

    def _on_document_graph_event(self, event: GraphEvent) -> None:
        if event.kind == GraphEvent.BLOCKS_CHANGED:
            node = self.document.graph.nodes.get(self.node_id or "")
            if node is not None and node.type_id == BLOCK_TYPE:
                layer = _layer_of(node, self.document)
                if (
                    self._layer is not None
                    and layer is not None
                    and (layer.params == self._layer.params)
                ):
                    self._refresh_values()  # the same fields (rebuilding here would delete
                    return  # the widget whose edit caused the change)
                self._shape = ()  # its definition has other parameters: rebuild
                self.set_node(node.id)
            return
        if self.node_id is None or event.node_id != self.node_id:
            return
        if event.kind == GraphEvent.NODE_REMOVED:
            self.set_selection([])
        elif event.kind == GraphEvent.NODE_CHANGED and event.detail != "position":
            if event.detail == "name" and self.name_edit is not None:
                self.name_edit.setText(self.document.graph.node(self.node_id).name)
            node = self.document.graph.node(self.node_id)
            if _shape(node) != self._shape:
                self.set_node(self.node_id)  # an expression appeared or went, or the block
            else:
                self._refresh_values()

    def _on_document_analysis_ready(self, result: AnalysisResult) -> None:
        self._refresh_analysis(result)

    def _on_document_reset(self) -> None:
        self.set_selection([])
