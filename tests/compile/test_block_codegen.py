"""One class per block definition, keys by module path, outputs equal to hand-written torch."""

from __future__ import annotations

import ast

import torch
import torch.nn as nn
import torch.nn.functional as F
from block_models import residual_model

from dlstudio.compile import compile_graph, export_onnx
from dlstudio.compile.codegen import generate_source


class _Residual(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + x)


class _Reference(nn.Module):
    def __init__(self, channels=8, repeat=3):
        super().__init__()
        self.stem = nn.Conv2d(3, channels, 3, padding=1)
        self.stage1 = nn.Sequential(*[_Residual(channels) for _ in range(repeat)])
        self.proj = nn.Sequential(
            nn.Conv2d(channels, 2 * channels, 1, stride=2), nn.BatchNorm2d(2 * channels)
        )
        self.fc = nn.Linear(2 * channels, 4)

    def forward(self, x):
        x = self.proj(self.stage1(self.stem(x)))
        return self.fc(x.mean(dim=(2, 3)))


def test_generated_source_has_one_class_per_definition():
    source = generate_source(residual_model(repeat=3))
    tree = ast.parse(source)
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    assert {"Residual", "Projection", "Blocky"} <= set(classes)
    assert [b.attr for b in classes["Projection"].bases] == ["Sequential"]
    assert "nn.Conv2d(channels, channels, kernel_size=3, padding=1)" in source
    assert "nn.Conv2d(channels, channels * 2, kernel_size=1, stride=stride)" in source
    assert "stage1_repeat: int = 3" in source  # a hyper-parameter in the config
    assert (
        "self.stage1 = nn.Sequential(*[Residual() for _ in range(config.stage1_repeat)])" in source
    )
    assert "self.proj = Projection(stride=2)" in source


def test_state_dict_follows_module_paths_and_outputs_match_torch():
    torch.manual_seed(0)
    compiled = compile_graph(residual_model(repeat=3))
    reference = _Reference()
    assert list(compiled.module.state_dict()) == list(reference.state_dict())
    reference.load_state_dict(compiled.module.state_dict())
    compiled.module.eval()
    reference.eval()
    x = torch.randn(2, 3, 12, 12)
    with torch.no_grad():
        torch.testing.assert_close(compiled.module(x), reference(x), rtol=0, atol=1e-6)


def test_a_bool_block_parameter_is_a_constructor_argument_of_one_class():
    from dlstudio.core import Edge, LayerNode, PortRef
    from dlstudio.core.blocks import BlockParam

    graph = residual_model(repeat=1)
    definition = graph.blocks["Residual"]
    definition.params += (BlockParam("bias", "bool", True),)
    conv1 = definition.graph.node_by_name("conv1")
    definition.graph.update_node(conv1.id, params={**conv1.params, "bias": "=bias"})
    stage, proj = graph.node_by_name("stage1"), graph.node_by_name("proj")
    edge = graph.edges_into(proj.id)[0]
    graph.delete_edge(edge)
    graph.insert_node(LayerNode("s2", "block", "stage2", {"block": "Residual", "bias": False}))
    graph.insert_edge(Edge(PortRef(stage.id, "out"), PortRef("s2", "in")))
    graph.insert_edge(Edge(PortRef("s2", "out"), edge.dst))
    source = generate_source(graph)
    assert source.count("class Residual") == 1 and "bias: bool = True" in source
    assert "self.stage2 = Residual(bias=False)" in source
    module = compile_graph(graph).module
    assert module.stage1.conv1.bias is not None and module.stage2.conv1.bias is None


def test_block_model_exports_to_onnx_with_parity(tmp_path):
    report = export_onnx(residual_model(repeat=2), tmp_path / "blocky.onnx")
    assert report.passed, report


def test_frozen_instance_compiles_frozen(tmp_path):
    graph = residual_model()
    graph.update_node(graph.node_by_name("stage1").id, trainable=False)
    module = compile_graph(graph).module
    frozen = [n for n, p in module.named_parameters() if not p.requires_grad]
    assert frozen and all(n.startswith("stage1.") for n in frozen)
    assert all(p.requires_grad for n, p in module.named_parameters() if n.startswith("fc."))


def test_instance_weights_load_into_that_instance(tmp_path):
    from dlstudio.compile.weights import save_weights

    graph = residual_model(repeat=1)
    first = compile_graph(graph).module
    save_weights(first.stage1, tmp_path / "stage.safetensors")
    stage = graph.node_by_name("stage1")
    graph.update_node(stage.id, params={**stage.params, "weights": "stage.safetensors"})
    second = compile_graph(graph, base_dir=tmp_path).module
    for key, value in first.stage1.state_dict().items():
        assert torch.equal(second.stage1.state_dict()[key], value)
