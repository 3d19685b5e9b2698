"""Every place weights enter accepts the same files and says the same things.

The formats are those other tools write: a plain state_dict, the usual checkpoint wrappers,
DataParallel and torch.compile prefixes, safetensors, and our own training checkpoints. The
loaded tensors are compared with the source module's own ``state_dict``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from block_models import residual_model
from safetensors.torch import save_file
from test_train_cli import _run as run_train
from train_projects import iris_mlp_project, save

from dlstudio.compile import cli_commands, compile_graph
from dlstudio.compile.errors import WeightsFileError
from dlstudio.compile.project_weights import load_attached_weights
from dlstudio.compile.weights import WeightsMismatchError, load_weights
from dlstudio.train.checkpoint import save_checkpoint

Writer = Callable[[dict[str, torch.Tensor], Path], Path]


def _pt(state: dict[str, torch.Tensor], folder: Path, wrap: Callable = lambda s: s) -> Path:
    path = folder / "w.pt"
    torch.save(wrap(state), path)
    return path


def _prefixed(prefix: str) -> Callable:
    return lambda state: {prefix + key: value for key, value in state.items()}


def _safetensors(state: dict[str, torch.Tensor], folder: Path) -> Path:
    save_file({k: v.contiguous() for k, v in state.items()}, str(folder / "w.safetensors"))
    return folder / "w.safetensors"


def _our_checkpoint(state: dict[str, torch.Tensor], folder: Path) -> Path:
    model = _StateHolder(state)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    return save_checkpoint(
        folder / "checkpoint.pt",
        model=model,
        optimizer=optimizer,
        scheduler=scheduler,
        scaler=None,
        progress={"epoch": 1},
    )


class _StateHolder(torch.nn.Module):
    """A module whose state_dict is a given mapping (what a trained model would save)."""

    def __init__(self, state: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self._state = state

    def state_dict(self, *args, **kwargs):  # type: ignore[override]
        return dict(self._state)


FORMATS: dict[str, Writer] = {
    "plain .pt": lambda s, f: _pt(s, f),
    "safetensors": _safetensors,
    "model_state_dict": lambda s, f: _pt(s, f, lambda x: {"model_state_dict": x, "epoch": 3}),
    "state_dict": lambda s, f: _pt(s, f, lambda x: {"state_dict": x, "hyper": {"lr": 0.1}}),
    "model": lambda s, f: _pt(s, f, lambda x: {"model": x}),
    "module. prefix": lambda s, f: _pt(s, f, _prefixed("module.")),
    "_orig_mod. prefix": lambda s, f: _pt(s, f, _prefixed("_orig_mod.")),
    "state_dict of module.": lambda s, f: _pt(
        s, f, lambda x: {"state_dict": _prefixed("module.")(x)}
    ),
    "our checkpoint": _our_checkpoint,
}


def _export_from(project: Path, weights: Path, out: Path) -> int:
    parser = argparse.ArgumentParser()
    cli_commands.add_export_parser(parser.add_subparsers())
    argv = ["export", str(project), "--weights", str(out), "--from", str(weights)]
    return cli_commands.run_export(parser.parse_args(argv))


@pytest.mark.parametrize("kind", list(FORMATS))
def test_every_entrance_accepts_the_format(kind: str, tmp_path: Path) -> None:
    torch.manual_seed(7)
    graph = residual_model(repeat=1)
    source = compile_graph(graph).module
    expected = source.state_dict()
    weights = FORMATS[kind](expected, tmp_path)

    # The loader itself, then export --from (it writes what it loaded).
    torch.manual_seed(8)
    fresh = compile_graph(graph).module
    report = load_weights(fresh, weights, fit="all")
    assert report.ok and len(report.loaded) == len(expected)
    for key, value in expected.items():
        assert torch.equal(fresh.state_dict()[key], value), key
    project = save(graph, tmp_path / "m.json")
    assert _export_from(project, weights, tmp_path / "out.pt") == 0
    written = torch.load(tmp_path / "out.pt", weights_only=True)
    assert all(torch.equal(written[k], v) for k, v in expected.items())

    # A project's attached weights.
    graph.metadata["weights"] = weights.name
    torch.manual_seed(9)
    attached = compile_graph(graph).module
    load_attached_weights(attached, graph, tmp_path / "m.json")
    assert torch.equal(attached.state_dict()["fc.weight"], expected["fc.weight"])
    del graph.metadata["weights"]

    # A block instance's weights: the same formats, holding only that block's tensors.
    stage = {k.split(".", 1)[1]: v for k, v in expected.items() if k.startswith("stage1.")}
    block_folder = tmp_path / "block"
    block_folder.mkdir()
    block_file = FORMATS[kind](stage, block_folder)
    node = graph.node_by_name("stage1")
    graph.update_node(node.id, params={**node.params, "weights": str(block_file)})
    torch.manual_seed(10)
    blocky = compile_graph(graph).module
    for key, value in stage.items():
        assert torch.equal(blocky.stage1.state_dict()[key], value), key


def test_train_init_weights_takes_a_wrapped_data_parallel_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The combination that export accepted and train refused (and the other way round)."""
    graph = iris_mlp_project(epochs=1)
    project = save(graph, tmp_path / "iris.json")
    state = compile_graph(graph).module.state_dict()
    weights = tmp_path / "w.pt"
    torch.save({"model_state_dict": {"module." + k: v for k, v in state.items()}}, weights)
    argv = ["train", str(project), "--init-weights", str(weights), "--out", str(tmp_path / "r")]
    assert run_train([*argv, "--strict"]) == 0
    err = capsys.readouterr().err
    assert "loaded 4 tensors; 0 missing, 0 unexpected, 0 of another shape" in err


def test_the_same_errors_come_out_of_every_entrance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = iris_mlp_project(epochs=1)
    project = save(graph, tmp_path / "iris.json")
    unrelated = tmp_path / "unrelated.pt"
    torch.save({"encoder.weight": torch.zeros(2)}, unrelated)
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a pickle")
    module = compile_graph(graph).module
    with pytest.raises(WeightsMismatchError, match="none of its 1 tensors"):
        load_weights(module, unrelated)
    with pytest.raises(WeightsFileError, match=r"broken\.pt is not a weights file"):
        load_weights(module, broken)
    for path, words in ((unrelated, "none of its 1 tensors"), (broken, "is not a weights file")):
        argv = ["train", str(project), "--init-weights", str(path), "--out", str(tmp_path / "r")]
        assert run_train(argv) == 2
        assert words in capsys.readouterr().err
    assert _export_from(project, broken, tmp_path / "o.pt") == 2
    assert "is not a weights file" in capsys.readouterr().err
    assert _export_from(project, unrelated, tmp_path / "o.pt") == 1
    assert "encoder: not in the model (ignored): weight" in capsys.readouterr().err
