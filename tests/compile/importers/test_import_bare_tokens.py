"""A learned class token or position table imported from a bare parameter keeps the source's
``state_dict`` key (torchvision's ``class_token``, timm's ``pos_embed``), and the project it
makes loads its weights, runs under the lens, exports to ONNX and round-trips through Python."""

from __future__ import annotations

import textwrap

import pytest
import torch
from graph_compare import differences
from repo_paths import TEMPLATES_DIR
from torch import nn
from torchvision_shim import import_torchvision_models

from dlstudio.analysis import analyze
from dlstudio.cli import main
from dlstudio.compile import compile_graph
from dlstudio.compile.importers import InputSpec, compile_import, import_module
from dlstudio.compile.importers.loader import load_model
from dlstudio.compile.importers.verify_torch import unused_modules, verify_import
from dlstudio.compile.project_weights import load_attached_weights
from dlstudio.core import load_project
from dlstudio.lens.capture import capture
from dlstudio.lens.engine import LensEngine
from dlstudio.lens.examples import Example

NET = '''
import torch
from torch import nn


class Net(nn.Module):
    """A ViT in miniature: 4 patches, a class token, a position table."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.proj = nn.Conv2d(3, 8, 4, 4)
        self.class_token = nn.Parameter(torch.randn(1, 1, 8))
        self.pos_embedding = nn.Parameter(torch.randn(1, 5, 8))
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        x = self.proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = x + self.pos_embedding
        return self.head(x[:, 0])
'''


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _keys_and_numbers(model: nn.Module, shape: tuple[int, ...]):
    """Import ``model``: the source's keys exactly, every weight used, the import's own check."""
    model.eval()
    specs = [InputSpec(shape)]
    result = import_module(model, specs)
    assert result.ok, result.report_lines()
    compiled = compile_import(result)
    assert sorted(compiled.module.state_dict()) == sorted(model.state_dict())
    assert unused_modules(model, result) == {}
    check = verify_import(model, result, specs)
    assert check.ok, (check.error, [o.line() for o in check.outputs])
    return result, compiled


def test_torchvision_vit_keeps_class_token_and_pos_embedding_keys() -> None:
    models = import_torchvision_models()
    torch.manual_seed(0)
    model = models.VisionTransformer(
        image_size=32, patch_size=8, num_layers=1, num_heads=2, hidden_dim=16, mlp_dim=32
    )
    nn.init.normal_(model.heads.head.weight)  # torchvision starts the head at zero
    result, compiled = _keys_and_numbers(model, (3, 32, 32))
    state = compiled.module.state_dict()
    assert torch.equal(state["class_token"], model.class_token.detach())
    assert torch.equal(state["encoder.pos_embedding"], model.encoder.pos_embedding.detach())
    # the lens, opened on the encoder block, shows the table added as the source adds it
    encoder = next(n.id for n in result.graph if n.name == "encoder")
    lens = LensEngine(result.graph, compiled, path=(encoder,))
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    values, _ = lens.capture(Example((x,), "noise"))
    table = next(n.id for n in lens.graph if n.name == "pos_embedding")
    seen: dict[str, torch.Tensor] = {}
    hook = model.encoder.dropout.register_forward_pre_hook(lambda _m, a: seen.setdefault("x", a[0]))
    with torch.no_grad():
        model(x)
    hook.remove()
    assert torch.allclose(values[table][0], seen["x"], atol=1e-6)


def test_hugging_face_vit_keeps_cls_token_and_position_embeddings_keys() -> None:
    import_torchvision_models()  # transformers' ViT imports torchvision
    transformers = pytest.importorskip("transformers")
    config = transformers.ViTConfig(
        image_size=32,
        patch_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        hidden_size=16,
        intermediate_size=32,
    )
    torch.manual_seed(0)
    model = transformers.ViTModel(config, add_pooling_layer=False)
    _, compiled = _keys_and_numbers(model, (3, 32, 32))
    assert "embeddings.cls_token" in compiled.module.state_dict()
    assert "embeddings.position_embeddings" in compiled.module.state_dict()


def test_imported_project_loads_weights_runs_lens_exports_onnx_and_round_trips(
    tmp_path, capsys
) -> None:
    source = tmp_path / "mini_vit.py"
    source.write_text(textwrap.dedent(NET))
    reference = load_model(f"{source}:Net").eval()
    out = tmp_path / "vit.json"
    assert main(["import", f"{source}:Net", "--input-shape", "3,8,8", "--out", str(out)]) == 0
    graph = load_project(out)
    token = next(n for n in graph if n.type_id == "cls_token")
    table = next(n for n in graph if n.type_id == "positional_encoding")
    assert (token.name, table.name) == ("class_token", "pos_embedding")
    assert token.params["bare"] and table.params["bare"]

    # the weights file loads into the compiled project under the source's keys
    compiled = compile_graph(graph)
    report = load_attached_weights(compiled.module, graph, out)
    assert report is not None and report.ok
    assert sorted(compiled.module.state_dict()) == sorted(reference.state_dict())
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(compiled.module.eval()(x), reference(x), atol=1e-6, rtol=0)

    # the lens sees the class token's output: the token in front of the patches
    values, _ = capture(compiled, graph, (x,))
    patches = reference.proj(x).flatten(2).transpose(1, 2)
    with_token = values[token.id][0]
    assert with_token.shape == (2, 5, 8)
    assert torch.allclose(with_token[:, 0], reference.class_token.detach()[0].expand(2, -1))
    assert torch.allclose(with_token[:, 1:], patches.detach(), atol=1e-6)

    # ONNX: the export checks itself against onnxruntime
    onnx_path = tmp_path / "vit.onnx"
    assert main(["export", str(out), "--onnx", str(onnx_path)]) == 0, capsys.readouterr().err
    assert onnx_path.exists()

    # export --python, then import again: the same layers and the same keys
    python = tmp_path / "again.py"
    assert main(["export", str(out), "--python", str(python)]) == 0
    text = python.read_text()
    assert "self.class_token = nn.Parameter(" in text
    assert "class ClassToken" not in text
    again = import_module(
        load_model(f"{python}:{compiled.code.class_name}"), [InputSpec((3, 8, 8))]
    )
    assert again.ok, again.report_lines()
    assert differences(graph, again.graph) == []
    assert sorted(compile_import(again).module.state_dict()) == sorted(reference.state_dict())


def test_a_bare_table_of_the_wrong_length_is_an_error_in_words(tmp_path) -> None:
    source = tmp_path / "mini_vit.py"
    source.write_text(textwrap.dedent(NET))
    result = import_module(load_model(f"{source}:Net"), [InputSpec((3, 8, 8))])
    graph = result.graph
    table = next(n for n in graph if n.type_id == "positional_encoding")
    graph.update_node(table.id, params={**table.params, "max_len": 9})
    errors = [d.message for d in analyze(graph).errors]
    assert any("bare (1, 9, 8) table" in m and "has 5 steps" in m for m in errors), errors


def test_a_drawn_class_token_keeps_its_helper_module() -> None:
    graph = load_project(TEMPLATES_DIR / "vit-tiny.json")
    compiled = compile_graph(graph)
    keys = compiled.module.state_dict()
    tokens = [n for n in graph if n.type_id == "cls_token"]
    assert tokens and all(f"{compiled.node_attrs[n.id]}.token" in keys for n in tokens)
