"""The Lens dock: values of the selected layer on a pinned example, thumbnails, newest wins."""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtWidgets import QApplication

from dlstudio.core.commands import SetParam
from dlstudio.gui.canvas.node_item import NodeItem
from dlstudio.lens.capture import capture
from dlstudio.lens.session import LensRefresh
from tests.gui.fixtures_window import REPO_ROOT, data_dir, window  # noqa: F401

TIMEOUT = 30_000


def _open_lenet(win) -> None:
    win.document.open(REPO_ROOT / "templates" / "lenet5.json")
    win.lens.dock.show()
    win.lens.dock.raise_()
    QApplication.processEvents()


def _refresh(qtbot, win):
    """Ask for a refresh and wait until the newest one is shown (a debounced one may follow)."""
    lens = win.lens
    assert lens.refresh_now() is not None

    def settled() -> bool:
        last = lens.last
        return (
            not lens._timer.isActive()
            and last is not None
            and last.generation == lens.session._latest
        )

    qtbot.waitUntil(settled, timeout=TIMEOUT)
    return lens.last


def _select(win, name: str) -> str:
    node = next(n for n in win.document.graph if n.name == name)
    win.scene.select_nodes([node.id])
    QApplication.processEvents()  # the panel follows the selection once the loop runs
    return node.id


def test_the_selected_layer_shows_its_output_on_the_pinned_sample(qtbot, window) -> None:  # noqa: F811
    _open_lenet(window)
    refresh = _refresh(qtbot, window)
    assert refresh is not None, window.lens.panel.status.text()
    assert refresh.results[0][0] == "random (seed 0)"
    result = refresh.results[0][1]
    assert result.example.label == "sample 0 of digits"
    conv1 = _select(window, "conv1")
    panel = window.lens.panel
    assert panel.title.text().startswith("conv1: feature maps, shape (6, 28, 28)")
    assert "range" in panel.stats.text() and "std" in panel.stats.text()
    # the values are the module's own (checked against a fresh capture of the same weights)
    value = result.value(conv1)
    assert value.shape == (6, 28, 28) and np.isfinite(value).all()


def test_another_sample_and_side_by_side_weights(qtbot, window) -> None:  # noqa: F811
    _open_lenet(window)
    panel = window.lens.panel
    panel.sample.setValue(5)
    model = window.document.graph.copy()
    refresh = _refresh(qtbot, window)
    assert refresh.results[0][1].example.label == "sample 5 of digits"
    # a "trained" model: the controller takes the last run's state_dict
    torch.manual_seed(1)
    from dlstudio.compile import compile_graph

    trained = compile_graph(model).module
    window.training.trained["run-x"] = trained
    panel.weights.setCurrentIndex(panel.weights.findData("both"))
    refresh = _refresh(qtbot, window)
    assert [label for label, _ in refresh.results] == ["random (seed 0)", "trained"]
    _select(window, "fc1")
    assert len([w for w in panel._picture_widgets if w[1].isVisible()]) == 2
    trained_result = refresh.results[1][1]
    values, _ = capture(trained_result_compiled(trained), model, trained_result.example.inputs)
    fc1 = next(n.id for n in model if n.name == "fc1")
    assert torch.equal(values[fc1][0], trained_result.values[fc1][0])


def trained_result_compiled(module):
    """The trained module in CompiledModel form, for an independent capture."""
    from dlstudio.compile import compile_graph
    from dlstudio.core import load_project

    compiled = compile_graph(load_project(REPO_ROOT / "templates" / "lenet5.json"))
    compiled.module.load_state_dict(module.state_dict())
    compiled.module.eval()
    return compiled


def test_thumbnails_on_the_canvas_follow_the_toggle(qtbot, window) -> None:  # noqa: F811
    _open_lenet(window)
    _refresh(qtbot, window)
    window.lens.panel.thumbnails.setChecked(True)
    nodes = len(window.document.graph)
    assert window.lens.thumbnail_count() == nodes
    thumb = next(iter(window.lens._thumbnails.values()))
    assert isinstance(thumb.parentItem(), NodeItem)
    window.lens.panel.thumbnails.setChecked(False)
    assert window.lens.thumbnail_count() == 0


def test_an_older_refresh_is_never_shown(qtbot, window) -> None:  # noqa: F811
    _open_lenet(window)
    shown = _refresh(qtbot, window)
    window.lens.session.next_generation()  # a newer request was made meanwhile
    window.lens._on_refresh_done(LensRefresh(shown.generation, ()))
    assert window.lens.last is shown


def test_an_edit_recomputes_after_a_quiet_moment(qtbot, window) -> None:  # noqa: F811
    _open_lenet(window)
    _refresh(qtbot, window)
    conv1 = next(n for n in window.document.graph if n.name == "conv1")
    window.document.push(SetParam(conv1.id, "out_channels", 4))
    lens = window.lens
    qtbot.waitUntil(lens._timer.isActive, timeout=5000)  # debounced, not at once
    asked = lens.session._latest
    qtbot.waitUntil(
        lambda: (
            lens.session._latest > asked
            and lens.last is not None
            and lens.last.generation == lens.session._latest
        ),
        timeout=TIMEOUT,
    )
    refresh = lens.last
    assert refresh.results[0][1].views[conv1.id].shape == (4, 28, 28)


def test_a_drawing_with_errors_says_so_instead_of_computing(qtbot, window) -> None:  # noqa: F811
    _open_lenet(window)
    fc1 = next(n for n in window.document.graph if n.name == "fc1")
    window.document.push(SetParam(fc1.id, "units", 3))  # fc2 then gets 3 inputs: fine
    conv2 = next(n for n in window.document.graph if n.name == "conv2")
    window.document.push(SetParam(conv2.id, "kernel_size", 30))  # larger than its input
    assert window.document.analysis.errors
    assert window.lens.refresh_now() is None
    assert "no errors" in window.lens.panel.status.text()


def test_filters_and_embeddings_tabs(qtbot, window) -> None:  # noqa: F811
    _open_lenet(window)
    _refresh(qtbot, window)
    panel = window.lens.panel
    assert panel.filters_title.text().startswith("conv1: the first convolution's kernels")
    assert not panel.filters_picture.pixmap().isNull()
    assert panel.embeddings.map is None  # LeNet has no Embedding
    window.document.open(REPO_ROOT / "templates" / "word2vec.json")
    refresh = _refresh(qtbot, window)
    page = panel.embeddings
    assert refresh.filters is None and "no 2-D convolution" in panel.filters_title.text()
    assert page.map is not None and page.map.table.words[:3] == refresh.embedding.table.words[:3]
    found = page.show_neighbours("cat")
    assert len(found) == 8 and "nearest to cat" in page.answer.text()
    page.analogy.setText("king, queen, him")
    page.analogy.returnPressed.emit()
    assert page.answer.text().startswith("king - queen + him: ")
    page.word.setText("zebra")
    page.word.returnPressed.emit()
    assert "'zebra' is not in the vocabulary" in page.answer.text()
    # a click on a drawn point asks for that word's neighbours
    from dlstudio.gui.lens.embedding_page import MAP_SIZE
    from dlstudio.lens import render

    panel.tabs.setCurrentWidget(page)
    QApplication.processEvents()  # laid out: the map is redrawn to fit
    assert page.map_size <= MAP_SIZE
    assert page.picture.pixmap().width() <= max(page.picture.width(), 160)  # fits, not cut
    x, y = render.scatter_positions(page.map.coords, page.map_size)[5]
    page._on_picture_clicked(float(x), float(y))
    assert page.word.text() == page.map.table.words[5]


def test_the_embeddings_map_offers_tsne_computed_on_a_worker(qtbot, window) -> None:  # noqa: F811
    import importlib.util

    from sklearn.manifold import TSNE

    from dlstudio.gui.lens.embedding_page import MAP_SEED

    window.document.open(REPO_ROOT / "templates" / "word2vec.json")
    window.lens.dock.show()
    _refresh(qtbot, window)
    page = window.lens.panel.embeddings
    offered = [page.method.itemData(i) for i in range(page.method.count())]
    assert offered[:2] == ["pca", "tsne"]
    assert ("umap" in offered) == (importlib.util.find_spec("umap") is not None)
    pca = page.coords.copy()
    page.method.setCurrentIndex(offered.index("tsne"))
    # the window goes on: PCA stays drawn while t-SNE runs on a worker
    assert page.task is not None and "t-SNE is being computed" in page.title.text()
    assert np.array_equal(page.coords, pca)
    qtbot.waitUntil(lambda: page.task is None, timeout=TIMEOUT)
    assert "by t-SNE" in page.title.text() and "being computed" not in page.title.text()
    # scikit-learn's own t-SNE of the same vectors, seeded alike: the same map
    vectors = page.map.table.vectors[: len(pca)]
    centred = vectors - vectors.mean(axis=0)
    perplexity = float(min(30, max(2, (len(vectors) - 1) // 3)))
    reference = TSNE(2, perplexity=perplexity, init="pca", random_state=MAP_SEED)
    np.testing.assert_allclose(page.coords, reference.fit_transform(centred), atol=1e-6)
    # clicks pick the word under the t-SNE point
    from dlstudio.lens import render

    x, y = render.scatter_positions(page.coords, page.map_size)[3]
    page._on_picture_clicked(float(x), float(y))
    assert page.word.text() == page.map.table.words[3]
    page.method.setCurrentIndex(0)
    assert np.array_equal(page.coords, pca) and "(PCA)" in page.title.text()


def test_the_embeddings_tab_maps_any_embedding_layer(qtbot, window) -> None:  # noqa: F811
    from dlstudio.compile import compile_graph
    from dlstudio.train.reproducible import seeded_build

    window.document.open(REPO_ROOT / "templates" / "transformer.json")
    window.lens.dock.show()
    refresh = _refresh(qtbot, window)
    page = window.lens.panel.embeddings
    layers = [page.layer.itemText(i) for i in range(page.layer.count())]
    assert layers == ["src_embed", "tgt_embed"] and page.layer.isEnabled()
    assert page.map.table.layer == "src_embed"
    page.layer.setCurrentIndex(1)
    assert page.map is refresh.embeddings[1] and "tgt_embed" in page.title.text()
    # the table is the module's own: the seeded weights a run starts from
    graph = window.document.graph.copy()
    module = seeded_build(lambda: compile_graph(graph), 0).module
    np.testing.assert_allclose(page.map.table.vectors, module.tgt_embed.weight.detach().double())
    # a refresh keeps the layer chosen
    refresh = _refresh(qtbot, window)
    assert page.map.table.layer == "tgt_embed"


def test_a_sample_or_a_confusion_cell_opens_its_explanation(qtbot, window) -> None:  # noqa: F811
    from graph_builders import ChainBuilder
    from torch.nn import Conv2d

    from dlstudio.compile import compile_graph
    from dlstudio.gui.training.evaluation import choose_split, evaluate_model
    from dlstudio.lens.explain import gradcam
    from dlstudio.train import TrainConfig, load_dataset

    b = ChainBuilder("cnn")
    b.chain(
        ("input", "image", {"shape": (1, 8, 8)}),
        ("conv2d", "conv1", {"out_channels": 4, "kernel_size": 3, "padding": 1}),
        ("relu", "relu1", {}),
        ("conv2d", "conv2", {"out_channels": 4, "kernel_size": 3, "padding": 1}),
        ("global_avgpool", "gap", {}),
        ("dense", "fc", {"units": 10}),
        ("output", "logits", {}),
    )
    b.graph.metadata["training"] = {"dataset": "digits", "val_fraction": 0.2}
    window.document.replace_graph(b.graph)
    torch.manual_seed(0)
    module = compile_graph(b.graph).module.eval()
    window.training.trained["run-1"] = module
    dataset = load_dataset("digits", {})
    config = TrainConfig(dataset="digits", val_fraction=0.2)
    name, split = choose_split(dataset, config, test=True)
    predictions = evaluate_model(module, split, dataset, config, name, max_samples=6)
    monitor = window.training.monitor
    monitor.samples.set_predictions(predictions)
    monitor.confusion.set_predictions(predictions)

    card = monitor.samples.cards[0]
    card.double_clicked.emit(card.sample)
    dialog = window.lens.explain_dialog
    assert dialog is not None and dialog.method.currentData() == "gradcam"
    qtbot.waitUntil(lambda: dialog.explanation is not None, timeout=TIMEOUT)
    expected = gradcam(SimpleCompiled(module), card.sample.inputs)
    np.testing.assert_allclose(dialog.explanation.heat, expected.heat, atol=1e-6)
    assert f"true <b>{card.sample.truth}</b>" in dialog.caption.text()
    assert not dialog.picture.pixmap().isNull()
    # Grad-CAM on another convolution, picked in the dialog
    first = next(path for path, sub in module.named_modules() if isinstance(sub, Conv2d))
    assert expected.layer != first and dialog.layer.isVisibleTo(dialog)
    dialog.layer.setCurrentIndex(dialog.layer.findData(first))
    qtbot.waitUntil(lambda: dialog.explanation.layer == first, timeout=TIMEOUT)
    on_first = gradcam(SimpleCompiled(module), card.sample.inputs, layer=first)
    np.testing.assert_allclose(dialog.explanation.heat, on_first.heat, atol=1e-6)
    assert f"Grad-CAM on {first}" in dialog.caption.text()
    dialog.method.setCurrentIndex(dialog.method.findData("saliency"))
    assert not dialog.layer.isVisibleTo(dialog)  # only Grad-CAM has a convolution to pick
    dialog.close()

    row, column = next(iter(predictions.cell_samples))
    monitor.confusion.table.cellDoubleClicked.emit(row, column)
    other = window.lens.explain_dialog
    assert other is not dialog and other.example.target == row

    # the first dialog's last method may still be running: explanations take turns
    def explained() -> None:
        assert other.explanation is not None, other.caption.text()

    qtbot.waitUntil(explained, timeout=TIMEOUT)
    assert other.explanation.predicted == column
    other.close()


class SimpleCompiled:
    """What the explanation functions need of a compiled model: its module."""

    def __init__(self, module) -> None:
        self.module = module


def _assert_thumbnails_cover_no_node(win) -> None:
    nodes = {node_id: win.scene.node_item(node_id) for node_id in win.lens._thumbnails}
    for node_id, thumb in win.lens._thumbnails.items():
        area = thumb.sceneBoundingRect()
        for other_id, other in nodes.items():
            if other_id != node_id:
                assert not area.intersects(other.sceneBoundingRect()), (node_id, other_id)


def test_a_thumbnail_with_nodes_on_both_sides_is_drawn_above_them(qtbot, window) -> None:  # noqa: F811
    from PySide6.QtCore import QPointF

    _open_lenet(window)
    window.lens.panel.thumbnails.setChecked(True)
    _refresh(qtbot, window)
    _assert_thumbnails_cover_no_node(window)
    ids = {n.name: n.id for n in window.document.graph}
    conv1, relu1, pool1 = (window.scene.node_item(ids[k]) for k in ("conv1", "relu1", "pool1"))
    box = conv1.sceneBoundingRect()
    relu1.setPos(box.right() + 10, box.top())  # crowd conv1 from both sides
    pool1.setPos(box.left() - 10 - pool1.boundingRect().width(), box.top())
    window.lens._draw_thumbnails()
    thumb = window.lens._thumbnails[ids["conv1"]]
    centre = thumb.sceneBoundingRect().center()
    assert relu1.sceneBoundingRect().contains(centre)  # it has to cover relu1...
    top = window.scene.items(QPointF(centre))[0]
    assert top is thumb  # ...and is drawn above it, not hidden under it
    window.lens.panel.thumbnails.setChecked(False)
    assert conv1.zValue() == relu1.zValue() == pool1.zValue()  # back in line, thumbnails gone


def test_inside_a_block_the_lens_shows_the_opened_instances_inner_layers(qtbot, window) -> None:  # noqa: F811
    from dlstudio.compile import compile_graph
    from dlstudio.train.reproducible import seeded_build

    window.document.open(REPO_ROOT / "templates" / "resnet-cifar.json")
    window.lens.dock.show()
    window.lens.panel.thumbnails.setChecked(True)
    QApplication.processEvents()
    _refresh(qtbot, window)
    layer2 = next(n for n in window.document.graph if n.name == "layer2")
    assert window.level.enter(layer2.id)
    QApplication.processEvents()
    assert window.lens.last is None  # the model's views are gone with the model's canvas
    refresh = _refresh(qtbot, window)
    assert refresh.path == (layer2.id,) and refresh.scope == "layer2"
    assert "inside layer2" in window.lens.panel.status.text()
    inner = window.level.graph
    assert set(refresh.results[0][1].views) == {n.id for n in inner}
    assert window.lens.thumbnail_count() == len(inner)
    conv1 = next(n.id for n in inner if n.name == "conv1")
    _assert_thumbnails_cover_no_node(window)
    # the downsample chain sits right of conv1: its thumbnail goes to the left
    conv1_item = window.scene.node_item(conv1)
    thumb = window.lens._thumbnails[conv1]
    assert thumb.sceneBoundingRect().right() < conv1_item.sceneBoundingRect().left()
    window.scene.select_nodes([conv1])
    QApplication.processEvents()
    shape = window.level.analysis.nodes[conv1].outputs["out"].shape[1:]  # what the canvas says
    assert window.lens.panel.title.text().startswith(f"conv1: feature maps, shape {shape}")
    # the values are layer2.conv1's own, as a forward hook on the same weights sees them
    graph = window.document.graph.copy()
    module = seeded_build(lambda: compile_graph(graph), 0).module.eval()
    seen = []
    module.layer2.conv1.register_forward_hook(lambda _m, _i, out: seen.append(out))
    example = refresh.results[0][1].example
    with torch.no_grad():
        module(*example.inputs)
    assert torch.equal(refresh.results[0][1].values[conv1][0], seen[0])
    window.level.go_top()
    refresh = _refresh(qtbot, window)
    assert refresh.path == () and layer2.id in refresh.results[0][1].views
