"""The resnet18 and resnet50 templates are torchvision's models: same state_dict keys and shapes,
same outputs with torchvision's weights; and resnet18 exports as a file that runs with only
torch."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import torch
from torchvision_shim import import_torchvision_models

from dlstudio.compile import compile_graph
from dlstudio.layers.validation import load_checked

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
MODELS = ("resnet18", "resnet50")


@cache
def _modules(name: str) -> tuple[torch.nn.Module, torch.nn.Module]:
    """(our compiled template, torchvision's model), both randomly initialised."""
    models = import_torchvision_models()
    torch.manual_seed(0)
    theirs = getattr(models, name)()
    ours = compile_graph(load_checked(TEMPLATES / f"{name}.json")).module
    return ours, theirs


@pytest.mark.parametrize("name", MODELS)
def test_state_dict_keys_and_shapes_are_torchvisions(name: str) -> None:
    ours, theirs = _modules(name)
    mine = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    reference = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert sorted(mine) == sorted(reference)
    assert mine == reference
    assert list(mine) == list(reference), "the same order, so a printed model reads the same"


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_torchvision_weights_give_torchvisions_outputs(name: str) -> None:
    ours, theirs = _modules(name)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    ours.eval()
    theirs.eval()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        image = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            expected = theirs(image)
            got = ours(image)
    finally:
        torch.set_num_threads(threads)
    assert got.shape == expected.shape == (1, 1000)
    assert (got - expected).abs().max().item() < 1e-5
    # Different weights would not pass: the comparison is not trivially true.
    assert expected.abs().max().item() > 1e-3


def test_exported_resnet18_is_a_block_file_that_runs_with_only_torch(tmp_path: Path) -> None:
    out = tmp_path / "r18.py"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "dlstudio", "export", str(TEMPLATES / "resnet18.json")]
    subprocess.run([*command, "--python", str(out)], check=True, env=env, capture_output=True)
    source = out.read_text(encoding="utf-8")
    tree = ast.parse(source)
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    # One class per block definition, then the model; no helper classes, no flattened names.
    # One BasicBlock class with an optional downsample (written inline, as torchvision does),
    # the stage, the model; before them the config (layer1's repeat count).
    assert list(classes) == ["Resnet18Config", "BasicBlock", "BasicStage", "Resnet18"]
    assert "self.downsample = (" in source and "if self.downsample is not None" in source
    assert "layer1_0" not in source
    # The whole file, example inputs, __main__, the config and torchvision's init lines
    # included, is under 122 lines.
    assert len(source.splitlines()) < 122
    imports = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module)])
    }
    assert imports <= {"torch", "dataclasses"}  # the standard library's, for the config
    # Run it where dlstudio cannot be imported: only torch is needed.
    clean = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    run = subprocess.run(
        [sys.executable, "-I", str(out)],
        env=clean,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "11,689,512 parameters" in run.stdout
    assert "output (2, 1000)" in run.stdout


def test_a_torchvision_state_dict_starts_the_template_as_it_is(tmp_path: Path) -> None:
    """Transfer learning's usual start: torchvision's weights file, `--init-weights`, strict."""
    from dlstudio.compile.weights import load_weights

    _, theirs = _modules("resnet18")
    torch.save(theirs.state_dict(), tmp_path / "resnet18-torchvision.pt")
    fresh = compile_graph(load_checked(TEMPLATES / "resnet18.json")).module
    report = load_weights(fresh, tmp_path / "resnet18-torchvision.pt", fit="all")
    assert len(report.loaded) == len(theirs.state_dict()) and not report.missing
    assert torch.equal(fresh.layer2[0].downsample[0].weight, theirs.layer2[0].downsample[0].weight)


@pytest.mark.parametrize("name", MODELS)
def test_fresh_weights_are_torchvisions_for_the_same_seed(name: str) -> None:
    """The template re-initialises as torchvision's ResNet does (kaiming_normal_ fan_out for
    convolutions, norms at 1 and 0), module for module: the same seed gives the same weights."""
    ours, theirs = _modules(name)
    torch.manual_seed(0)
    ours = compile_graph(load_checked(TEMPLATES / f"{name}.json")).module
    mine, reference = ours.state_dict(), theirs.state_dict()
    assert list(mine) == list(reference)
    for key, value in reference.items():
        assert torch.equal(mine[key], value), key
