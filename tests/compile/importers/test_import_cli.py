"""``python -m dlstudio import``: exit codes, the report, and weights beside the project that
load when the project is compiled to train or export."""

from __future__ import annotations

import json
import textwrap

import torch
from torchvision_shim import import_torchvision_models

from dlstudio.cli import main
from dlstudio.compile import compile_graph
from dlstudio.compile.project_weights import load_attached_weights
from dlstudio.core import load_project
from dlstudio.train.cli_train import compile_project

MODEL_FILE = textwrap.dedent(
    """
    import torch
    from torch import nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3)
            self.fc = nn.Linear(4 * 26 * 26, 10)

        def forward(self, x):
            return self.fc(torch.flatten(torch.relu(self.conv1(x)), 1))


    class Shifty(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)

        def forward(self, x):
            return torch.roll(self.conv(x), 1, dims=2).flatten(1)
    """
)


def _model_file(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(MODEL_FILE)
    return path


def test_import_a_file_writes_project_and_weights_that_load(tmp_path, capsys) -> None:
    source = _model_file(tmp_path)
    out = tmp_path / "net.json"
    code = main(["import", f"{source}:Net", "--input-shape", "1,28,28", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    data = json.loads(out.read_text())
    assert data["metadata"]["weights"] == "net.safetensors"
    assert (tmp_path / "net.safetensors").exists()
    graph = load_project(out)
    assert [n.name for n in graph if n.type_id in ("conv2d", "dense")] == ["conv1", "fc"]
    # The same weights arrive wherever the project is compiled: train, export, the GUI worker.
    from safetensors.torch import load_file

    saved = load_file(str(tmp_path / "net.safetensors"))
    compiled = compile_graph(graph)
    report = load_attached_weights(compiled.module, graph, out)
    assert report is not None and report.ok
    assert torch.equal(compiled.module.state_dict()["conv1.weight"], saved["conv1.weight"])
    trained = compile_project(graph, out)
    assert torch.equal(trained.module.state_dict()["fc.bias"], saved["fc.bias"])


def test_unsupported_operation_is_reported_with_exit_code_1(tmp_path, capsys) -> None:
    source = _model_file(tmp_path)
    out = tmp_path / "shifty.json"
    code = main(["import", f"{source}:Shifty", "--input-shape", "1,6,6", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert "roll: torch.roll has no DL Studio layer" in err
    assert "Placeholder" in err
    graph = load_project(out)  # written anyway, with the gap marked
    assert [n.params["op"] for n in graph if n.type_id == "placeholder"] == ["torch.roll"]
    assert main(["validate", str(out)]) == 1


def test_torchvision_callable_with_the_input_guessed(tmp_path, capsys) -> None:
    import_torchvision_models()
    out = tmp_path / "r18.json"
    torch.manual_seed(3)
    assert main(["import", "torchvision.models:resnet18", "--out", str(out)]) == 0
    assert "input shape 3,224,224" in capsys.readouterr().out
    torch.manual_seed(3)
    reference = import_torchvision_models().resnet18().eval()
    graph = load_project(out)
    compiled = compile_graph(graph)
    load_attached_weights(compiled.module, graph, out)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert torch.allclose(compiled.module.eval()(x), reference(x), atol=1e-5)


def test_bad_sources_are_usage_errors(tmp_path, capsys) -> None:
    assert main(["import", "no_such_module_xyz:make", "--out", str(tmp_path / "a.json")]) == 2
    assert "cannot import 'no_such_module_xyz'" in capsys.readouterr().err
    source = _model_file(tmp_path)
    assert main(["import", str(source), "--out", str(tmp_path / "b.json")]) == 2
    assert "say which model to import" in capsys.readouterr().err
    assert main(["import", f"{source}:Net", "--input-shape", "3,5", "--out", "c.json"]) == 2
    assert "check --input-shape" in capsys.readouterr().err


def test_missing_weights_file_is_a_clear_error(tmp_path) -> None:
    source = _model_file(tmp_path)
    out = tmp_path / "net.json"
    main(["import", f"{source}:Net", "--input-shape", "1,28,28", "--out", str(out)])
    (tmp_path / "net.safetensors").unlink()
    graph = load_project(out)
    import pytest

    from dlstudio.compile.errors import ExportError

    with pytest.raises(ExportError, match=r"net\.safetensors is missing"):
        load_attached_weights(compile_graph(graph).module, graph, out)
