"""Every template: loads, validates cleanly, matches its hand-written reference, fits its data set,
compiles, trains a step and exports to ONNX with matching outputs."""

from __future__ import annotations

import importlib.util
import re
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest
import torch
from template_references import KNOWN_COUNTS, REFERENCES, count_params

from dlstudio.analysis import ERROR, WARNING, analyze
from dlstudio.core import LayerGraph, dumps_project
from dlstudio.layers.validation import load_checked

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
NAMES = sorted(REFERENCES)
BATCH = 4
# Too slow for every test run on two CPU cores (a 224x224 forward, backward and ONNX trace):
# these are checked by counts, one small forward (test_heavy_template_forward) and, for the
# ResNets, against torchvision itself (test_torchvision_match.py).
HEAVY = {"resnet18", "resnet50", "vgg16"}


@cache
def build_script() -> ModuleType:
    """scripts/build_templates.py, imported from its file (scripts/ is not a package)."""
    path = ROOT / "scripts" / "build_templates.py"
    spec = importlib.util.spec_from_file_location("build_templates", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_templates", module)
    spec.loader.exec_module(module)
    return module


@cache
def _load(name: str) -> LayerGraph:
    return load_checked(TEMPLATES / f"{name}.json")


def load(name: str) -> LayerGraph:
    """A fresh copy of a template, so no test sees another's changes."""
    return _load(name).copy()


def test_every_template_file_has_a_reference() -> None:
    assert sorted(p.stem for p in TEMPLATES.glob("*.json")) == NAMES
    assert sorted(build_script().TEMPLATES) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_validates_without_errors_or_warnings(name: str) -> None:
    result = analyze(load(name), batch_size=BATCH)
    bad = [d.message for d in result.diagnostics if d.severity in (ERROR, WARNING)]
    assert not bad, f"{name}: {bad}"
    assert all(info.ok for info in result.nodes.values())


@pytest.mark.parametrize("name", NAMES)
def test_parameter_count_matches_reference(name: str) -> None:
    total = analyze(load(name)).total_params
    assert total == count_params(REFERENCES[name]())
    if name in KNOWN_COUNTS:
        assert total == KNOWN_COUNTS[name]


def test_resnet18_summary_counts_torchvision_parameters() -> None:
    # What `python -m dlstudio summary templates/resnet18.json --json` reports.
    assert analyze(load("resnet18")).total_params == 11_689_512


@pytest.mark.parametrize("name", NAMES)
def test_metadata_for_the_gallery(name: str) -> None:
    meta = load(name).metadata
    assert meta["title"].strip()
    assert meta["category"] in ("Vision", "Sequences", "Text", "Transformers")
    assert len(meta["description"]) > 200, "one paragraph for the gallery"
    assert "training" in meta


@pytest.mark.parametrize("name", NAMES)
def test_committed_file_is_what_the_script_builds(name: str) -> None:
    built = dumps_project(build_script().TEMPLATES[name]())
    committed = (TEMPLATES / f"{name}.json").read_text(encoding="utf-8")
    assert built == committed, (
        f"templates/{name}.json is stale: run .venv/bin/python scripts/build_templates.py"
    )


@pytest.mark.parametrize("name", NAMES)
def test_layout_has_no_overlapping_nodes(name: str) -> None:
    graph = load(name)
    for where, inner in [(name, graph), *((d.name, d.graph) for d in graph.blocks.values())]:
        positions = sorted(n.position for n in inner)
        for i, (x1, y1) in enumerate(positions):
            for x2, y2 in positions[i + 1 :]:
                assert x2 - x1 >= 180 or abs(y2 - y1) >= 90, f"{where}: nodes overlap at {(x1, y1)}"


BLOCK_TEMPLATES = {
    "resnet18": {"BasicBlock", "Downsample", "BasicStage"},
    "resnet50": {"Bottleneck", "Downsample"} | {f"BottleneckStage{n}" for n in (3, 4, 6)},
    "vgg16": {"VGGBlock2", "VGGBlock3"},
    "resnet-cifar": {"BasicBlock", "Downsample"},
    "vit-tiny": {"PatchEmbedding", "TransformerEncoderPreLN"},
    "gpt-mini": {"TransformerEncoderPreLN"},
    "transformer-classifier": {"TransformerEncoderGELU"},
    "transformer": {"TransformerEncoderPostLN", "TransformerDecoderPostLN"},
}


@pytest.mark.parametrize("name", sorted(BLOCK_TEMPLATES))
def test_built_from_blocks(name: str) -> None:
    """The big models are blocks, not walls of layers; library blocks are the library's."""
    from dlstudio.layers.block_library import library_definitions

    graph = load(name)
    assert set(graph.blocks) == BLOCK_TEMPLATES[name]
    assert any(node.type_id == "block" for node in graph)
    assert len(graph) <= 16, "the top level stays readable"
    library = library_definitions()
    for definition in graph.blocks.values():
        if definition.name in library:
            assert dumps_definition(definition) == dumps_definition(library[definition.name])
    # One class per definition, called as the definition is (not BasicBlock2, not Name_2); a
    # chain drawn once inside a block (the residual blocks' downsample) is written inline.
    from dlstudio.compile.codegen import generate_source

    source = generate_source(graph)
    for definition in graph.blocks:
        expected = 0 if definition == "Downsample" else 1
        assert source.count(f"class {definition}(") == expected, definition
    if "Downsample" in graph.blocks:
        assert "self.downsample = (\n            nn.Sequential(" in source
    classes = re.findall(r"^class (\w+)\(", source, re.MULTILINE)
    for name in classes:
        clash = [d for d in graph.blocks if re.fullmatch(rf"{d}_?\d+", name)]
        assert not clash, f"{name}: a second class for {clash}"


@pytest.mark.parametrize(("name", "channels"), [("resnet18", 512), ("resnet50", 2048)])
def test_resnet_stages_halve_the_size(name: str, channels: int) -> None:
    """torchvision's feature maps: 56, 28, 14 and 7 pixels after layer1..layer4 (a stage with
    the wrong stride has the same parameter count, so the count alone would not notice)."""
    graph = load(name)
    result = analyze(graph)
    sizes = [
        result.nodes[graph.node_by_name(f"layer{i}").id].outputs["out"].shape[2:]
        for i in range(1, 5)
    ]
    assert sizes == [(56, 56), (28, 28), (14, 14), (7, 7)]
    assert result.nodes[graph.node_by_name("layer4").id].outputs["out"].shape[1] == channels


def dumps_definition(definition) -> list:
    """A definition's content without positions (templates lay their blocks out)."""
    nodes = [(n.id, n.type_id, n.name, sorted(n.params.items())) for n in definition.graph]
    edges = sorted((str(e.src), str(e.dst)) for e in definition.graph.edges)
    return [definition.params, definition.description, nodes, edges]


# --------------------------------------------------------- training settings
@pytest.mark.parametrize("name", NAMES)
def test_training_settings_fit_the_data_set(name: str) -> None:
    """The default data set feeds the Input nodes and the output fits the loss, so Train works."""
    from dlstudio.train.compat import check_inputs, check_target
    from dlstudio.train.config import TrainConfig
    from dlstudio.train.data import list_datasets, load_dataset

    graph = load(name)
    training = graph.metadata["training"]
    config = TrainConfig.from_metadata(training)  # raises on any invalid setting
    assert config.dataset in {d.name for d in list_datasets()}
    options = dict(config.dataset_options)
    if name in HEAVY:  # the generated 224x224 images: a few show the shapes just as well
        options["n_samples"] = 8
    data = load_dataset(config.dataset, options)
    result = analyze(graph)
    inputs = [n for n in graph if n.type_id == "input"]
    expected = [result.nodes[n.id].output for n in inputs]
    assert check_inputs(data, expected, [n.name for n in inputs]) == []
    (out,) = [n for n in graph if n.type_id == "output"]
    output_spec = result.nodes[out.id].inputs["in"]
    assert check_target(data, config.loss, output_spec) == []
    for node in inputs:
        vocab = result.nodes[node.id].params["vocab_size"]
        if node.params.get("dtype") == "int64":
            assert vocab == data.vocab_size or vocab == data.num_classes


# ------------------------------------------------------------- compiled side
def _compile(graph: LayerGraph):
    compile_mod = pytest.importorskip("dlstudio.compile")
    if not hasattr(compile_mod, "compile_graph"):
        pytest.skip("dlstudio.compile has no compile_graph yet")
    return compile_mod.compile_graph(graph)


def sample_inputs(graph: LayerGraph, batch: int = BATCH) -> tuple[torch.Tensor, ...]:
    """A random batch for the graph's Input nodes (in document order)."""
    result = analyze(graph)
    gen = torch.Generator().manual_seed(0)
    tensors = []
    for node in graph:
        if node.type_id != "input":
            continue
        params = result.nodes[node.id].params
        shape = tuple(
            batch if d == "N" else params["seq_len"] if isinstance(d, str) else d
            for d in result.nodes[node.id].output.shape
        )
        if params["dtype"] == "int64":
            tensors.append(torch.randint(0, params["vocab_size"], shape, generator=gen))
        else:
            tensors.append(torch.randn(shape, generator=gen))
    return tuple(tensors)


@pytest.mark.parametrize("name", NAMES)
def test_compiles_with_the_reference_count_and_output_shape(name: str) -> None:
    graph = load(name)
    compiled = _compile(graph)
    reference = REFERENCES[name]()
    assert count_params(compiled.module) == count_params(reference)
    if name in HEAVY:
        return
    inputs = sample_inputs(graph)
    compiled.module.eval()
    reference.eval()
    with torch.no_grad():
        assert compiled.module(*inputs).shape == reference(*inputs).shape


@pytest.mark.parametrize("name", sorted(HEAVY - {"resnet18", "resnet50"}))
def test_heavy_template_forward(name: str) -> None:
    """One image of its own data set through the compiled model (the ResNets do this in
    test_torchvision_match, and train a step in test_one_training_step_on_its_own_data)."""
    from dlstudio.train.data import load_dataset

    graph = load(name)
    module = _compile(graph).module.eval()
    training = graph.metadata["training"]
    data = load_dataset(training["dataset"], {**training["dataset_options"], "n_samples": 4})
    image = data.data.inputs[0][:1]
    with torch.no_grad():
        out = module(image)
    assert out.shape == (1, 1000)
    assert torch.isfinite(out).all()


def _torchvision_resnet18_keys() -> set[str]:
    """torchvision's resnet18 state_dict keys, written out from its module structure."""
    bn = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    keys = {"conv1.weight", *(f"bn1.{k}" for k in bn), "fc.weight", "fc.bias"}
    for stage in range(1, 5):
        for block in range(2):
            p = f"layer{stage}.{block}"
            keys |= {f"{p}.conv1.weight", f"{p}.conv2.weight"}
            keys |= {f"{p}.bn1.{k}" for k in bn} | {f"{p}.bn2.{k}" for k in bn}
            if stage > 1 and block == 0:
                keys.add(f"{p}.downsample.0.weight")
                keys |= {f"{p}.downsample.1.{k}" for k in bn}
    return keys


def test_resnet18_weights_have_torchvision_names() -> None:
    """The module tree is torchvision's, so state_dict keys are too (written out here; the
    comparison with torchvision itself is in test_torchvision_match.py)."""
    module = _compile(load("resnet18")).module
    assert set(module.state_dict()) == _torchvision_resnet18_keys()


@pytest.mark.parametrize("name", sorted(set(NAMES) - {"vgg16"}))
def test_one_training_step_on_its_own_data(name: str) -> None:
    """A step with the template's own data set, optimizer, learning rate and loss (the ResNets
    on 2 of their generated 224x224 images), so Train works as the template opens. VGG-16 (a
    step costs 20 s here) takes one of its own images forward in test_heavy_template_forward."""
    from dlstudio.train.objectives import compute_loss
    from dlstudio.train.optim import make_optimizer
    from dlstudio.train.session import resolve_run

    graph = load(name)
    training = dict(graph.metadata["training"])
    batch = 2 if name in HEAVY else BATCH
    if name in HEAVY:  # the same images, fewer of them
        training["dataset_options"] = {**training["dataset_options"], "n_samples": 8}
    config, dataset = resolve_run(training)
    module = _compile(graph).module
    module.train()
    torch.manual_seed(0)
    optimizer = make_optimizer(module, config)
    inputs = tuple(x[:batch] for x in dataset.data.inputs)
    output = module(*inputs)
    loss = compute_loss(config.loss, output, dataset.data.target[:batch])
    before = [p.detach().clone() for p in module.parameters()]
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss)
    changed = sum(
        not torch.equal(a, p.detach()) for a, p in zip(before, module.parameters(), strict=True)
    )
    assert changed == len(before), "every parameter should get a gradient step"


@pytest.mark.parametrize("name", [n for n in NAMES if n not in HEAVY])
def test_onnx_export_parity(name: str, tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    compile_mod = pytest.importorskip("dlstudio.compile")
    if not hasattr(compile_mod, "export_onnx"):
        pytest.skip("dlstudio.compile has no export_onnx yet")
    graph = load(name)
    compiled = _compile(graph)
    path = tmp_path / f"{name}.onnx"
    report = compile_mod.export_onnx(compiled, path)
    assert report.ok, f"{name}: {report.message} ({'; '.join(report.attempts)})"
    # A second, independent check on this test's own batch.
    inputs = sample_inputs(graph)
    module = compiled.module.eval()
    with torch.no_grad():
        expected = module(*inputs)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {
        arg.name: tensor.numpy() for arg, tensor in zip(session.get_inputs(), inputs, strict=True)
    }
    (got, *_) = session.run(None, feeds)
    assert got.shape == tuple(expected.shape)
    assert abs(torch.from_numpy(got) - expected).max().item() < 1e-4
