"""After training a Transformer, the Attention tab shows a heatmap: a sample's weights, one
attention at a time (also inside blocks), rows summing to 1, tokens on the axes; reachable
from the node menu, the Run menu and the tab itself."""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtCore import Qt

from dlstudio.gui.canvas.menus import context_menu

pytest_plugins = ["tests.gui.fixtures_training"]


def _action(menu, name: str):
    return next((a for a in menu.actions() if a.objectName() == name), None)


def test_attention_heatmap_after_training_the_transformer(make_window, qtbot, message_boxes):
    torch.set_num_threads(1)
    win = make_window(
        "transformer",
        epochs=1,
        batch_size=64,
        dataset_options={"seq_len": 8, "symbols": 10, "teacher_forcing": True, "n_samples": 320},
    )
    controller = win.training
    controller.panel.threads_spin.setValue(1)
    qtbot.mouseClick(controller.panel.start_button, Qt.MouseButton.LeftButton)
    record = win.wait_finished(qtbot)
    assert record.status == "completed", record.message

    # Right-click the decoder block instance: its attention is one click away.
    decoder = win.document.graph.node_by_name("decoder2")
    item = win.scene.node_item(decoder.id)
    menu = context_menu(win.scene, item.sceneBoundingRect().center())
    action = _action(menu, "show_attention")
    assert action is not None and action.isEnabled()
    view = controller.monitor.attention
    with qtbot.waitSignal(view.maps_shown, timeout=60_000):
        action.trigger()
    assert controller.monitor.currentWidget() is view
    assert view.current.label == "decoder2.self_attn (self-attention)"  # first inside decoder2
    labels = [view.site_box.itemText(i) for i in range(view.site_box.count())]
    assert len(labels) == 6 and "decoder2.multihead_attn (cross-attention)" in labels
    view.site_box.setCurrentIndex(labels.index("decoder2.multihead_attn (cross-attention)"))

    matrix = view.matrix
    assert matrix.shape == (8, 8)  # target steps x source steps
    assert np.allclose(matrix.sum(axis=1), 1.0, atol=1e-5)
    assert np.allclose(view.image.image, matrix)  # what is drawn is that matrix
    assert view.head_box.count() == 5  # the mean, then the 4 heads
    view.head_box.setCurrentIndex(2)
    assert np.allclose(view.matrix, view.current.weights[1])
    ticks = view.plot.getAxis("top")._tickLevels[0]
    first = view.source.split.inputs[0][0].tolist()
    # Every label names its position and the token there (as many as fit without touching).
    assert len(ticks) >= 2 and ticks[0][1] == f"0 s{first[0] - 2}"
    for value, label in ticks:
        position = round(value)
        assert label == f"{position} s{first[position] - 2}"

    # Another sample: other maps, still rows of 1.
    before = view.matrix.copy()
    with qtbot.waitSignal(view.maps_shown, timeout=30_000):
        view.sample_box.setCurrentIndex(3)
    assert view.current.label == "decoder2.multihead_attn (cross-attention)"  # kept
    assert not np.allclose(view.matrix, before)
    assert np.allclose(view.matrix.sum(axis=1), 1.0, atol=1e-5)
    assert message_boxes.shown == []


def test_attention_tab_without_attention_says_so(make_window, qtbot, message_boxes):
    win = make_window("iris-mlp")
    monitor = win.training.monitor
    win.training_ui.monitor_dock.hide()
    win.training.show_attention()
    assert win.training_ui.monitor_dock.isVisible()  # Show Attention Map brings it back
    assert monitor.currentWidget() is monitor.attention
    assert "train the model first" in monitor.attention.hint.text()
    item = win.scene.node_item("n2")
    menu = context_menu(win.scene, item.sceneBoundingRect().center())
    assert _action(menu, "show_attention") is None  # a Dense node does not attend


def test_weights_option_adds_and_removes_the_port_on_the_canvas(make_window, qtbot):
    from graph_builders import ChainBuilder

    from dlstudio.core import SetParam

    b = ChainBuilder("attend")
    x = b.add("input", "x", shape=("T", 8), seq_len=5)
    attn = b.add("multihead_attention", "attn", num_heads=2)
    b.wire(x, attn, dst_port="query")
    b.wire(attn, b.add("output", "y"))
    win = make_window("iris-mlp")
    win.document.replace_graph(b.graph)
    item = win.scene.node_item(attn)
    assert ("weights", True) not in item.ports
    win.document.push(SetParam(attn, "attention_weights", "per_head"))
    assert ("weights", True) in item.ports and ("out", True) in item.ports
    win.document.undo()
    assert ("weights", True) not in item.ports


def test_token_labels_on_the_attention_axes_never_overlap(qtbot):
    import numpy as np
    from PySide6.QtGui import QFontMetricsF

    from dlstudio.analysis.attention_sites import AttentionSite
    from dlstudio.compile.attention_maps import AttentionMap
    from dlstudio.gui.training.attention_view import AttentionView

    view = AttentionView()
    qtbot.addWidget(view)
    view.resize(760, 330)  # the monitor's share of a 1366x768 window
    view.show()
    qtbot.waitExposed(view)
    tokens = tuple(f"word{i}" for i in range(40))
    site = AttentionSite(
        "encoder.0.self_attn", ("n1",), "transformer_encoder_layer", "weights", False, 0, 0
    )
    weights = np.full((1, 40, 40), 1 / 40, dtype=np.float32)
    amap = AttentionMap(site, weights, False, tokens, tokens)
    view.source, view._sample = object(), 0
    view._on_maps_ready(view.source, 0, [amap])
    qtbot.wait(50)
    box = view.plot.vb.sceneBoundingRect()
    cell = min(box.width(), box.height()) / 40
    metrics = QFontMetricsF(view.font())
    for name, across in (("top", True), ("left", False)):
        ticks = view.plot.getAxis(name)._tickLevels[0]
        assert len(ticks) >= 2
        gap = (ticks[1][0] - ticks[0][0]) * cell  # pixels between neighbouring labels
        widest = max(metrics.horizontalAdvance(t) for _, t in ticks)
        assert gap >= (widest if across else metrics.height()), (name, gap, len(ticks))
