"""torchvision's classic models import with exactly their parameter counts, and the compiled
import computes what the original does (random initialisation, nothing downloaded)."""

from __future__ import annotations

import pytest
import torch
from torchvision_shim import import_torchvision_models

from dlstudio.analysis import analyze
from dlstudio.compile.importers import InputSpec, compile_import, import_module

MODELS = ["resnet18", "resnet50", "vgg16", "alexnet", "mobilenet_v2", "vit_b_16"]


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_torchvision_model_imports_exactly(name: str) -> None:
    models = import_torchvision_models()
    torch.manual_seed(0)
    original = getattr(models, name)().eval()
    result = import_module(original, [InputSpec((3, 224, 224))], name=name)
    assert result.ok, result.report_lines()
    analysis = analyze(result.graph)
    assert not analysis.errors, [d.message for d in analysis.errors]
    expected = sum(p.numel() for p in original.parameters())
    assert analysis.total_params == expected
    compiled = compile_import(result)
    assert sum(p.numel() for p in compiled.module.parameters()) == expected
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = original(x)
        got = compiled.module.eval()(x)
    assert got.shape == want.shape
    assert torch.allclose(got, want, atol=1e-5, rtol=0), (got - want).abs().max()
    del compiled, original


def test_resnet18_keeps_torchvision_module_paths_and_shares_blocks() -> None:
    models = import_torchvision_models()
    original = models.resnet18().eval()
    result = import_module(original, [InputSpec((3, 224, 224))])
    compiled = compile_import(result)
    assert sorted(compiled.module.state_dict()) == sorted(original.state_dict())
    root = result.graph
    instances = {n.name: n.params["block"] for n in root if n.type_id == "block"}
    assert set(instances) == {"layer1", "layer2", "layer3", "layer4"}
    layer1 = root.blocks[instances["layer1"]].graph
    inner = [n.params["block"] for n in layer1 if n.type_id == "block"]
    # layer1.0 and layer1.1 have the same structure: one definition for both.
    assert len(inner) == 2 and inner[0] == inner[1]
    # The weights are torchvision's, under torchvision's names.
    state = compiled.module.state_dict()
    assert torch.equal(state["layer1.0.conv1.weight"], original.layer1[0].conv1.weight)


def test_vit_uses_layer_norm_eps_and_one_definition_for_twelve_encoder_blocks() -> None:
    models = import_torchvision_models()
    result = import_module(models.vit_b_16().eval(), [InputSpec((3, 224, 224))])
    blocks = result.graph.blocks
    layers = next(d for d in blocks.values() if sum(n.type_id == "block" for n in d.graph) == 12)
    assert len({n.params["block"] for n in layers.graph if n.type_id == "block"}) == 1
    norms = [n for d in blocks.values() for n in d.graph if n.type_id == "layernorm"]
    assert norms and all(n.params["eps"] == pytest.approx(1e-6) for n in norms)
