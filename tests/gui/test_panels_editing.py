"""The palette and the properties panel: search, tooltips, adding layers, editing parameters
with validation as the user types, one undoable command per change, and undo refreshing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QSpinBox

from dlstudio.core import LayerGraph, SetParam
from dlstudio.gui.panels import LAYER_MIME
from dlstudio.gui.panels.param_editors import format_value, parse_text
from dlstudio.layers import ParamError, get_layer_type
from tests.gui import fixtures_window
from tests.gui.fixtures_window import TEMPLATES, double_click_palette, type_into

window = fixtures_window.shared_window
module_window = fixtures_window.module_window
data_dir = fixtures_window.data_dir

LENET = next(p for p in TEMPLATES if p.stem == "lenet5")


def test_palette_search_filters_by_label_id_and_summary(window):
    palette = window.palette_panel
    everything = palette.visible_type_ids()
    palette.search.setText("conv")
    assert "conv2d" in palette.visible_type_ids() and "dense" not in palette.visible_type_ids()
    palette.search.setText("maxpool2d")  # by id
    assert palette.visible_type_ids() == ["maxpool2d"]
    palette.search.setText("zzzz-nothing")
    assert palette.visible_type_ids() == []
    palette.search.clear()
    assert palette.visible_type_ids() == everything


def test_palette_tooltip_explains_and_drag_payload(window):
    layer = get_layer_type("conv2d")
    tip = window.palette_panel.item_for("conv2d").toolTip(0)
    assert layer.explanation in tip and layer.formula in tip
    data = window.palette_panel.mime_data_for("conv2d")
    assert bytes(data.data(LAYER_MIME)).decode() == "conv2d"


def test_double_click_adds_at_view_centre_and_enter_adds_first_match(window, qtbot):
    window.view.centerOn(QPointF(400, 300))
    node_id = double_click_palette(window, "dense")
    item = window.scene.node_item(node_id)
    assert item.sceneBoundingRect().adjusted(-20, -20, 20, 20).contains(QPointF(400, 300))
    assert window.properties.node_id == node_id  # the new node is selected and shown
    window.palette_panel.search.setText("relu")
    window.palette_panel.search.returnPressed.emit()
    assert [n.type_id for n in window.document.graph] == ["dense", "relu"]


def test_parse_text_accepts_what_users_type():
    conv = get_layer_type("conv2d")
    assert parse_text(conv.param_spec("kernel_size"), "5") == (5, 5)
    assert parse_text(conv.param_spec("kernel_size"), "(3, 5)") == (3, 5)
    assert parse_text(conv.param_spec("kernel_size"), "3x5") == (3, 5)
    assert parse_text(conv.param_spec("padding"), "same") == "same"
    shape = get_layer_type("input").param_spec("shape")
    assert parse_text(shape, "[T]") == ("T",)
    assert parse_text(shape, "1, 28, 28") == (1, 28, 28)
    for text in ("", "a", "0", "1, 2, 3", "2.5"):
        try:
            parse_text(conv.param_spec("kernel_size"), text)
        except ParamError:
            continue
        raise AssertionError(f"{text!r} was accepted")
    assert format_value((5, 5)) == "5, 5"


def _select(window, name):
    node = window.document.graph.node_by_name(name)
    window.scene.select_nodes([node.id])
    assert window.properties.node_id == node.id
    return node


def test_invalid_text_turns_red_and_applies_nothing(window):
    window.files.load_template(LENET, ask=False)
    node = _select(window, "conv1")
    editor = window.properties.editors["kernel_size"]
    line = editor.editor
    assert isinstance(line, QLineEdit) and line.text() == "5, 5"
    depth = len(window.document.undo_stack._done)
    type_into(line, "5, oops")
    assert line.property("invalid") is True
    assert "whole number" in editor.error and editor.error_label.isVisibleTo(window.properties)
    assert window.document.graph.node(node.id).params["kernel_size"] == 5
    assert len(window.document.undo_stack._done) == depth
    type_into(line, "3")
    assert editor.error is None and line.property("invalid") is False
    assert window.document.graph.node(node.id).params["kernel_size"] == (3, 3)
    assert window.document.undo_stack.undo_text == "set kernel_size"


def test_each_widget_kind_pushes_one_command_and_undo_refreshes(window):
    window.files.load_template(LENET, ask=False)
    node = _select(window, "conv1")
    editors = window.properties.editors
    spin = editors["out_channels"].editor
    assert isinstance(spin, QSpinBox) and spin.value() == 6 and spin.minimum() >= 1
    type_into(spin, "12")
    assert window.document.graph.node(node.id).params["out_channels"] == 12
    bias = editors["bias"].editor
    assert isinstance(bias, QCheckBox) and bias.isChecked()
    bias.click()
    assert window.document.graph.node(node.id).params["bias"] is False
    padding = editors["padding"].editor
    type_into(padding, "same")
    assert window.document.graph.node(node.id).params["padding"] == "same"

    window.action_registry.undo.trigger()
    assert padding.text() == "2, 2"
    window.action_registry.undo.trigger()
    assert bias.isChecked()
    window.action_registry.undo.trigger()
    assert spin.value() == 6
    assert editors["out_channels"].editor is spin  # refreshed in place, not rebuilt

    inp = _select(window, "image")
    dtype = window.properties.editors["dtype"].editor
    assert isinstance(dtype, QComboBox)
    dtype.setCurrentIndex(dtype.findData("int64"))
    assert window.document.graph.node(inp.id).params["dtype"] == "int64"


def test_tiny_eps_is_typed_as_text_and_kept_exactly(window):
    """BERT's 1e-12 must not become 0 in a six-decimal spin box."""
    from dlstudio.core import AddNode, LayerNode

    gpt = next(p for p in TEMPLATES if p.stem == "gpt-mini")
    window.files.load_template(gpt, ask=False)
    layer = LayerNode("enc1", "transformer_encoder_layer", "encoder", {}, (600.0, 0.0))
    window.document.push(AddNode(layer))
    for name, param in (("final_norm", "eps"), ("encoder", "layer_norm_eps")):
        node = _select(window, name)
        editor = window.properties.editors[param].editor
        assert isinstance(editor, QLineEdit)
        type_into(editor, "1e-12")
        assert window.document.graph.node(node.id).params[param] == 1e-12
        assert editor.text() == "1e-12"


def test_name_trainable_inferred_and_explanation(window, qtbot):
    window.files.load_template(LENET, ask=False)
    node = _select(window, "fc1")
    panel = window.properties
    assert panel.inferred_labels["in_features"].text() == "400"
    assert "(N, 120)" in panel.output_label.text()
    panel.name_edit.setText("classifier_in")
    panel.name_edit.editingFinished.emit()
    assert window.document.graph.node(node.id).name == "classifier_in"
    panel.name_edit.setText("conv1")  # taken: refused, the real name comes back
    panel.name_edit.editingFinished.emit()
    assert panel.name_edit.text() == "classifier_in"
    with qtbot.waitSignal(window.document.analysis_ready):
        panel.trainable_box.click()
    assert window.document.graph.node(node.id).trainable is False
    assert "48,120 frozen" in window.summary.totals.text()
    texts = [w.text() for w in panel.widget().findChildren(type(panel.output_label))]
    layer = get_layer_type("dense")
    assert layer.explanation in texts and layer.formula in texts
    window.action_registry.undo.trigger()
    assert panel.trainable_box.isChecked()


def test_selection_changes_and_removal_clear_the_panel(window):
    window.files.load_template(LENET, ask=False)
    ids = list(window.document.graph.nodes)
    window.scene.select_nodes(ids[:2])
    assert window.properties.node_id is None
    assert "2 layers selected" in window.properties.widget().text()
    node = _select(window, "relu1")
    window.scene.delete_selection()
    assert window.properties.node_id is None
    window.action_registry.undo.trigger()
    assert node.id in window.document.graph


def test_external_change_while_typing_keeps_invalid_text(window):
    window.files.load_template(LENET, ask=False)
    node = _select(window, "conv1")
    line = window.properties.editors["kernel_size"].editor
    line.setFocus()
    line.setText("5,")
    line.textEdited.emit("5,")
    window.document.push(SetParam(node.id, "out_channels", 7))
    assert line.text() == "5,"  # the user's half-typed text survives a refresh


def test_empty_document_shows_placeholder(window):
    window.document.replace_graph(LayerGraph())
    assert window.properties.node_id is None


@given(st.lists(st.integers(1, 1024), min_size=2, max_size=2))
def test_size_text_round_trips(values):
    spec = get_layer_type("conv2d").param_spec("kernel_size")
    value = spec.validate(tuple(values))
    assert parse_text(spec, format_value(value)) == value


@given(
    st.lists(
        st.one_of(st.integers(1, 10_000), st.sampled_from(["T", "S", "L", "H"])),
        min_size=1,
        max_size=6,
    )
)
def test_shape_text_round_trips(dims):
    spec = get_layer_type("input").param_spec("shape")
    value = spec.validate(tuple(dims))
    assert parse_text(spec, format_value(value)) == value


@given(st.text(max_size=20))
def test_any_typed_text_is_either_valid_or_a_param_error(text):
    for type_id, name in (("conv2d", "kernel_size"), ("conv2d", "padding"), ("input", "shape")):
        spec = get_layer_type(type_id).param_spec(name)
        try:
            value = parse_text(spec, text)
        except ParamError:
            continue
        assert spec.validate(value) == value


def test_an_image_input_shows_only_what_it_uses(window):
    window.files.load_template(LENET, ask=False)
    node = _select(window, "image")  # shape 1, 28, 28 and float32
    panel = window.properties

    def shown() -> set[str]:
        return {n for n, e in panel.editors.items() if e.container.isVisibleTo(panel)}

    assert shown() == {"shape", "dtype"}
    dtype = panel.editors["dtype"].editor
    assert isinstance(dtype, QComboBox)
    dtype.setCurrentText("int64")
    dtype.activated.emit(dtype.currentIndex())  # the user picks int64 in the list
    assert window.document.graph.node(node.id).params["dtype"] == "int64"
    assert shown() == {"shape", "dtype", "vocab_size", "padding_id"}
    type_into(panel.editors["shape"].editor, "T")  # a sequence of T token ids
    assert "seq_len" in shown()
    window.document.undo()
    window.document.undo()
    assert shown() == {"shape", "dtype"}
    # A token setting left on a float input stays visible, so its problem can be fixed.
    window.document.push(SetParam(node.id, "padding_id", 0))
    assert shown() == {"shape", "dtype", "padding_id"}
    window.document.undo()
    # The batch switch shows only where it is off (an imported model without a batch axis).
    window.document.push(SetParam(node.id, "batch", False))
    assert shown() == {"shape", "dtype", "batch"}
