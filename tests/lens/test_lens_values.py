"""The lens shows the compiled module's own intermediate values, node by node."""

from __future__ import annotations

import pytest
import torch
from repo_paths import TEMPLATES_DIR as TEMPLATES
from torch.nn import functional as F

from dlstudio.compile import compile_graph, make_inputs
from dlstudio.core import load_project
from dlstudio.lens.capture import LensCancelled, capture
from dlstudio.lens.engine import LensEngine
from dlstudio.lens.examples import Example


def _compiled(name: str):
    graph = load_project(TEMPLATES / f"{name}.json")
    torch.manual_seed(0)
    compiled = compile_graph(graph)
    compiled.module.eval()
    inputs = make_inputs(compiled.code.inputs, 1, compiled.analysis.bindings)
    return graph, compiled, inputs


def _hooked(compiled, inputs) -> dict[str, torch.Tensor]:
    """Each top-level submodule's output as a forward hook sees it (the reference)."""
    seen: dict[str, torch.Tensor] = {}
    handles = [
        sub.register_forward_hook(lambda _m, _i, out, n=name: seen.setdefault(n, out))
        for name, sub in compiled.module.named_children()
    ]
    with torch.no_grad():
        compiled.module(*inputs)
    for h in handles:
        h.remove()
    return seen


@pytest.mark.parametrize("template", ["lenet5", "resnet-cifar", "transformer-classifier"])
def test_every_node_has_the_modules_own_value_and_the_analysed_shape(template: str) -> None:
    graph, compiled, inputs = _compiled(template)
    values, outputs = capture(compiled, graph, inputs)
    assert set(values) == {node.id for node in graph}
    hooked = _hooked(compiled, inputs)
    checked = 0
    for node in graph:
        attr = compiled.node_attrs[node.id]
        info = compiled.analysis.nodes[node.id]
        first = values[node.id][0]
        if node.type_id != "output":
            spec = next(iter(info.outputs.values()))
            assert len(first.shape) == len(spec.shape), node.name
            fixed = [
                (d, s)
                for d, s in zip(first.shape[1:], spec.shape[1:], strict=False)
                if isinstance(s, int)
            ]
            assert all(d == s for d, s in fixed), (node.name, first.shape, spec.shape)
        if attr in hooked:
            reference = hooked[attr]
            reference = reference[0] if isinstance(reference, tuple) else reference
            assert torch.equal(first, reference), node.name
            checked += 1
    assert checked >= 3
    assert torch.equal(values[next(n for n in graph if n.type_id == "output").id][0], outputs[0])


@pytest.mark.parametrize("template", ["lenet5", "transformer-classifier"])
def test_the_recording_forward_and_the_line_tracer_read_the_same_tensors(template: str) -> None:
    """The lens runs a copy of forward() with a record call after each step; the line tracer
    (used when the source cannot be matched) must see exactly the same values."""
    from dlstudio.lens.capture import _traced_run, recording_forward, step_lines

    graph, compiled, inputs = _compiled(template)
    lines = step_lines(compiled, graph)
    assert recording_forward(compiled, lines) is not None
    recorded, outputs = capture(compiled, graph, inputs, lines=lines)
    traced: dict[str, tuple[torch.Tensor, ...]] = {}
    with torch.no_grad():
        traced_outputs = _traced_run(compiled, lines, inputs, traced, None)
    steps = {step.node_id for step in lines.starts.values()}
    assert steps and steps <= set(recorded) and set(traced) == steps
    for node_id in steps:
        assert len(recorded[node_id]) == len(traced[node_id]), node_id
        for mine, theirs in zip(recorded[node_id], traced[node_id], strict=True):
            assert torch.equal(mine, theirs), node_id
    assert torch.equal(outputs[0], traced_outputs)


def test_function_layers_are_captured_exactly() -> None:
    """relu1 is written as F.relu(x): no hook sees it, the lens does."""
    graph, compiled, inputs = _compiled("lenet5")
    values, _ = capture(compiled, graph, inputs)
    by_name = {node.name: values[node.id][0] for node in graph}
    assert torch.equal(by_name["relu1"], F.relu(by_name["conv1"]))
    assert torch.equal(by_name["pool1"], F.max_pool2d(by_name["relu1"], 2))


def test_engine_views_carry_statistics_and_a_kind_per_node() -> None:
    graph, compiled, inputs = _compiled("lenet5")
    engine = LensEngine(graph, compiled, [str(i) for i in range(10)])
    result = engine.run(Example(inputs, "noise"))
    by_name = {v.name: v for v in result.views.values()}
    conv1 = by_name["conv1"]
    value = result.value(conv1.node_id)
    assert conv1.shape == value.shape == (6, 28, 28)
    assert conv1.minimum == pytest.approx(float(value.min()))
    assert conv1.std == pytest.approx(float(value.std()), rel=1e-5)
    assert conv1.kind == "feature_maps" and by_name["image"].kind == "image"
    assert by_name["logits"].kind == "classes" and by_name["fc1"].kind == "histogram"
    assert conv1.thumbnail is not None and conv1.thumbnail.dtype.name == "uint8"
    assert max(conv1.thumbnail.shape[:2]) <= 96


def test_views_follow_the_example_when_its_length_changes() -> None:
    """An engine keeps what each view says besides its numbers from run to run; a sentence of
    another length must still show its own shapes."""
    graph, compiled, _ = _compiled("transformer-classifier")
    engine = LensEngine(graph, compiled)
    for length in (5, 9, 5):
        inputs = make_inputs(compiled.code.inputs, 1, {**compiled.analysis.bindings, "T": length})
        result = engine.run(Example(inputs, "noise"), thumbnails=False)
        for node_id, view in result.views.items():
            assert view.shape == tuple(result.value(node_id).shape), view.name
        assert any(length in view.shape for view in result.views.values())


def test_a_cancelled_run_stops_and_leaves_no_tracer_behind() -> None:
    import sys

    graph, compiled, inputs = _compiled("lenet5")
    calls = []

    def cancelled() -> bool:
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(LensCancelled):
        capture(compiled, graph, inputs, cancelled=cancelled)
    assert sys.gettrace() is None or "coverage" in type(sys.gettrace()).__module__


def test_a_session_refresh_stops_when_a_newer_one_is_asked_for() -> None:
    from dlstudio.lens.pinning import PinRequest
    from dlstudio.lens.session import LensSession

    graph = load_project(TEMPLATES / "lenet5.json")
    session = LensSession()
    generation = session.next_generation()
    done = session.refresh(graph, PinRequest(sample=2), generation)
    assert done.results[0][1].example.label == "sample 2 of digits"
    session.next_generation()
    with pytest.raises(LensCancelled):
        session.refresh(graph, PinRequest(sample=2), generation)


def test_the_filters_picture_shows_each_kernel_of_the_first_convolution() -> None:
    import numpy as np

    from dlstudio.lens import render
    from dlstudio.lens.filters import filters_picture

    graph, compiled, _ = _compiled("lenet5")
    path, picture = filters_picture(compiled.module, longest=60)
    assert path == compiled.node_attrs[next(n.id for n in graph if n.name == "conv1")]
    assert picture.shape[2] == 3
    # 6 kernels of 5x5 on a 3x2 grid with 1-pixel gaps, unscaled: each kernel's own pixels
    weight = compiled.module.get_submodule(path).weight.detach().numpy()
    grid = render.filter_grid(weight, longest=17)
    assert grid.shape[:2] == (11, 17)
    np.testing.assert_array_equal(grid[0:5, 0:5], render.colormap(render.normalise(weight[0, 0])))


def test_a_heat_strip_labels_tokens_only_where_rows_can_hold_them() -> None:
    import numpy as np

    from dlstudio.lens import render

    value = np.arange(17 * 64, dtype=np.float32).reshape(17, 64)
    tokens = tuple(f"w{i}" for i in range(17))
    large = render.heat_strip(value, tokens, 480)
    assert large.shape[:2] == (17 * 24, 90 + 64 * 6)  # a label column, then the cells
    thumb = render.heat_strip(value, tokens, 96)
    assert thumb.shape[:2] == (17 * 5, 64)  # no room for labels: no empty column either
    # the first column is the strip itself: the lowest values' colour, not the background
    assert tuple(thumb[0, 0]) == tuple(render.colormap(render.normalise(value))[0, 0])


def test_sequence_rows_are_labelled_only_when_they_are_the_tokens() -> None:
    from dlstudio.lens.engine import draw

    value = torch.randn(5, 8)  # a class token first: five steps for four words
    words = ("this", "movie", "was", "great")
    assert draw(value, "sequence", words, None, 480).shape[1] == 8 * 8  # no labels
    assert draw(value[1:], "sequence", words, None, 480).shape[1] == 90 + 8 * 8
    assert draw(value[1:], "sequence", words, None, 96).shape[1] == 8 * 8  # a thumbnail: none
