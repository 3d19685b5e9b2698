"""Inside a block the lens shows the inner layers of the one instance the canvas opened.

The reference is forward hooks on the inner submodules of that instance, found by their
torchvision-style names (``layer2.0.conv1``), not by the lens's own bookkeeping.
"""

from __future__ import annotations

import pytest
import torch
from repo_paths import TEMPLATES_DIR as TEMPLATES
from torch.nn import functional as F

from dlstudio.compile import compile_graph, make_inputs
from dlstudio.core import load_project
from dlstudio.lens.engine import LensEngine
from dlstudio.lens.examples import Example
from dlstudio.lens.inner import LensScopeError


def _compiled(name: str):
    graph = load_project(TEMPLATES / f"{name}.json")
    torch.manual_seed(0)
    compiled = compile_graph(graph)
    compiled.module.eval()
    inputs = make_inputs(compiled.code.inputs, 1, compiled.analysis.bindings)
    return graph, compiled, inputs


def _instance_id(graph, name: str) -> str:
    return next(node.id for node in graph if node.name == name)


def _hooked(module: torch.nn.Module, prefix: str, names: list[str], inputs) -> dict:
    """Outputs (and the instance's input and output) seen by hooks under ``prefix``."""
    seen: dict[str, torch.Tensor] = {}
    instance = module.get_submodule(prefix)
    handles = [
        instance.register_forward_pre_hook(lambda _m, a: seen.setdefault("<in>", a[0])),
        instance.register_forward_hook(lambda _m, _a, out: seen.setdefault("<out>", out)),
    ]
    for name in names:
        sub = instance.get_submodule(name)
        handles.append(
            sub.register_forward_hook(lambda _m, _a, out, n=name: seen.setdefault(n, out))
        )
    with torch.no_grad():
        module(*inputs)
    for handle in handles:
        handle.remove()
    return {k: v[0] if isinstance(v, tuple) else v for k, v in seen.items()}


def _by_name(engine: LensEngine, values) -> dict[str, torch.Tensor]:
    return {engine.graph.node(n).name: v[0] for n, v in values.items() if v}


def test_a_resnet_block_shows_its_own_inner_values() -> None:
    graph, compiled, inputs = _compiled("resnet-cifar")
    path = (_instance_id(graph, "layer2"),)
    engine = LensEngine(graph, compiled, path=path)
    values, _ = engine.capture(Example(inputs, "noise"))
    got = _by_name(engine, values)
    hooked = _hooked(compiled.module, "layer2", ["conv1", "bn1", "conv2", "bn2"], inputs)
    for name in ("conv1", "bn1", "conv2", "bn2"):
        assert torch.equal(got[name], hooked[name]), name
    assert torch.equal(got["x"], hooked["<in>"])
    assert torch.equal(got["out"], hooked["<out>"])
    # layers written as function calls, which no hook sees
    assert torch.equal(got["relu1"], F.relu(got["bn1"]))
    assert torch.equal(got["relu2"], F.relu(got["add"]))
    assert engine.scope is not None and engine.scope.label == "layer2"
    # the inlined downsample chain is read through its layers
    inner = engine.scope.graph.node(_instance_id(engine.scope.graph, "downsample")).id
    deeper = LensEngine(graph, compiled, path=(*path, inner))
    values, _ = deeper.capture(Example(inputs, "noise"))
    chain = _by_name(deeper, values)
    reference = _hooked(compiled.module, "layer2.downsample", ["0", "1"], inputs)
    assert torch.equal(chain["0"], reference["0"]) and torch.equal(chain["1"], reference["1"])


def test_nested_and_repeated_instances_read_the_chosen_copy() -> None:
    graph, compiled, inputs = _compiled("resnet18")
    example = Example(inputs, "noise")
    layers = ["conv1", "bn1", "conv2", "bn2"]
    # layer1 is BasicBlock repeated twice: the second copy has its own weights
    layer1 = (_instance_id(graph, "layer1"),)
    second = LensEngine(graph, compiled, path=layer1, copy=1)
    got = _by_name(second, second.capture(example)[0])
    hooked = _hooked(compiled.module, "layer1.1", layers, inputs)
    assert all(torch.equal(got[n], hooked[n]) for n in layers)
    assert second.scope.label == "layer1 (copy 2 of 2)"
    first = LensEngine(graph, compiled, path=layer1)
    assert not torch.equal(_by_name(first, first.capture(example)[0])["conv1"], got["conv1"])
    # layer2 is a BasicStage (a chain of two BasicBlocks): open its first block
    stage = LensEngine(graph, compiled, path=(_instance_id(graph, "layer2"),))
    block = _instance_id(stage.graph, "0")
    engine = LensEngine(graph, compiled, path=(_instance_id(graph, "layer2"), block))
    result = engine.run(example)
    got = _by_name(engine, result.values)
    hooked = _hooked(compiled.module, "layer2.0", [*layers, "downsample"], inputs)
    assert all(torch.equal(got[n], hooked[n]) for n in [*layers, "downsample"])
    assert result.views[_instance_id(engine.graph, "conv1")].kind == "feature_maps"
    assert result.views[_instance_id(engine.graph, "conv1")].shape == (128, 28, 28)


def test_a_transformer_block_shows_attention_and_feed_forward_values() -> None:
    graph, compiled, inputs = _compiled("transformer-classifier")
    path = (_instance_id(graph, "encoder"),)
    engine = LensEngine(graph, compiled, path=path, copy=1)
    result = engine.run(Example(inputs, "tokens"))
    got = _by_name(engine, result.values)
    names = ["self_attn", "norm1", "linear1", "linear2", "norm2"]
    hooked = _hooked(compiled.module, "encoder.1", names, inputs)
    for name in names:
        assert torch.equal(got[name], hooked[name]), name
    assert torch.equal(got["activation"], F.gelu(got["linear1"]))
    assert torch.equal(got["out"], hooked["<out>"])
    view = result.views[_instance_id(engine.graph, "norm2")]
    assert view.kind == "sequence" and view.shape == tuple(hooked["norm2"].shape[1:])


def test_a_path_that_leads_nowhere_is_a_message_not_a_crash() -> None:
    graph, compiled, _ = _compiled("resnet-cifar")
    with pytest.raises(LensScopeError, match="no block instance"):
        LensEngine(graph, compiled, path=("nope",))


def test_an_instance_its_condition_leaves_out_says_so() -> None:
    """layer1 keeps 16 channels at stride 1: its downsample is ``None`` in the module."""
    graph, compiled, _ = _compiled("resnet-cifar")
    layer1 = _instance_id(graph, "layer1")
    inner = graph.blocks["BasicBlock"].graph
    assert compiled.module.layer1.downsample is None
    with pytest.raises(LensScopeError, match="layer1 > downsample: this instance has no layers"):
        LensEngine(graph, compiled, path=(layer1, _instance_id(inner, "downsample")))


def test_inspect_writes_the_inner_layers_of_block_instances_by_path(tmp_path) -> None:
    """``inspect`` names inner layers by their path; each one's tensor is what a forward hook
    on the compiled module's submodule (``layer2.conv1``, ``layer2.downsample.0``) sees."""
    import json

    from dlstudio.cli import main
    from dlstudio.lens.inspection import inspect_nodes
    from dlstudio.lens.pinning import PinRequest, pin_example
    from dlstudio.lens.project import open_project

    template = TEMPLATES / "resnet-cifar.json"
    project = open_project(template)
    example = pin_example(project, PinRequest(sample=3))
    inspection = inspect_nodes(project.graph, project.compiled, example, project.class_names)
    got = {node.path: node.sample for node in inspection.nodes}
    names = {
        "layer2/conv1": "layer2.conv1",
        "layer2/bn2": "layer2.bn2",
        "layer2/downsample/0": "layer2.downsample.0",
        "layer3/conv2": "layer3.conv2",
        "layer1/conv1": "layer1.conv1",
    }
    seen: dict[str, torch.Tensor] = {}
    module = project.compiled.module

    def keep(path: str):  # a hook that returns something would replace the output
        def hook(_m, _a, out) -> None:
            seen.setdefault(path, out[0])

        return hook

    handles = [
        module.get_submodule(attr).register_forward_hook(keep(path)) for path, attr in names.items()
    ]
    with torch.no_grad():
        module(*example.inputs)
    for handle in handles:
        handle.remove()
    for path in names:
        assert torch.equal(got[path], seen[path]), path
    assert torch.equal(got["layer2/relu1"], F.relu(got["layer2/bn1"]))  # a function layer
    paths = list(got)
    assert paths.index("layer2") < paths.index("layer2/conv1") < paths.index("layer3")

    out = tmp_path / "lens"
    assert main(["inspect", str(template), "--sample", "3", "--out", str(out)]) == 0
    rows = {row["node"]: row for row in json.loads((out / "index.json").read_text())["nodes"]}
    assert set(rows) == set(got)
    conv = rows["layer2/downsample/0"]
    reference = seen["layer2/downsample/0"].double()
    assert conv["shape"] == list(reference.shape) and (out / conv["file"]).exists()
    assert conv["min"] == pytest.approx(float(reference.min()))
    assert conv["std"] == pytest.approx(float(reference.std(correction=0)), rel=1e-6)
    assert main(["inspect", str(template), "--no-inner", "--out", str(tmp_path / "top")]) == 0
    top = json.loads((tmp_path / "top" / "index.json").read_text())["nodes"]
    assert [row["node"] for row in top] == [p for p in paths if "/" not in p]
