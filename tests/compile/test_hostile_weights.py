"""Crafted weights files, models too large for memory and unwritable outputs: typed errors,
the documented exit codes of ``export``, atomic writes that keep mode and follow symlinks."""

from __future__ import annotations

import argparse
import os
import stat
from pathlib import Path

import pytest
import torch
from graph_builders import ChainBuilder, mlp

from dlstudio.compile import cli_commands, compile_graph, export_python, load_weights, save_weights
from dlstudio.compile.errors import WeightsFileError
from dlstudio.compile.limits import LIMIT_ENV, available_memory, check_fits
from dlstudio.core import save_project
from dlstudio.core.errors import ModelTooLargeError


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    cli_commands.add_export_parser(parser.add_subparsers())
    return cli_commands.run_export(parser.parse_args(["export", *argv]))


@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    return compile_graph(mlp((4, 3, 2)))


def _crafted(folder: Path, module: torch.nn.Module) -> dict[str, Path]:
    good_st = folder / "good.safetensors"
    save_weights(module, good_st)
    data = good_st.read_bytes()
    files = {
        "truncated.safetensors": data[: len(data) // 2],
        "header-only.safetensors": data[:8],
        "empty.safetensors": b"",
        "huge-header.safetensors": (2**62).to_bytes(8, "little") + b"{}",
        "random.pt": os.urandom(300),
        "empty.pt": b"",
    }
    paths = {}
    for name, content in files.items():
        (folder / name).write_bytes(content)
        paths[name] = folder / name
    for name, obj in {
        "int-keys.pt": {0: torch.zeros(3), 1: torch.ones(2)},
        "list.pt": [torch.zeros(3)],
        "nested-ints.pt": {"model": {7: torch.zeros(1)}},
        "not-tensors.pt": {"fc1.weight": [1, 2, 3]},
        "complex.pt": {"fc1.bias": torch.zeros(3, dtype=torch.complex64)},
    }.items():
        torch.save(obj, folder / name)
        paths[name] = folder / name
    good_pt = folder / "good.pt"
    save_weights(module, good_pt)
    paths["truncated.pt"] = folder / "truncated.pt"
    paths["truncated.pt"].write_bytes(good_pt.read_bytes()[:-40])
    (folder / "a-folder.pt").mkdir()
    paths["a-folder.pt"] = folder / "a-folder.pt"
    return paths


def test_crafted_weights_files_raise_only_weights_file_errors(tmp_path, small):
    for name, path in _crafted(tmp_path, small.module).items():
        with pytest.raises(WeightsFileError) as info:
            load_weights(small.module, path)
        assert str(path) in str(info.value), name


def test_export_from_a_crafted_file_exits_2_without_a_traceback(tmp_path, small, capsys):
    project = tmp_path / "m.json"
    save_project(mlp((4, 3, 2)), project)
    paths = _crafted(tmp_path, small.module)
    for name in ("truncated.safetensors", "int-keys.pt"):
        out = tmp_path / "w.pt"
        assert _run([str(project), "--weights", str(out), "--from", str(paths[name])]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and "Traceback" not in err and not out.exists()


def _huge_dense(inputs: tuple[int, ...]) -> ChainBuilder:
    b = ChainBuilder("huge")
    b.chain(
        ("input", "input", {"shape": inputs}),
        ("flatten", "flatten", {}),
        ("dense", "fc1", {"units": 10}),
        ("output", "output", {}),
    )
    return b


def test_a_dense_with_2_to_the_64_inputs_is_refused_with_both_figures():
    graph = _huge_dense((2**32, 2**32)).graph
    with pytest.raises(ModelTooLargeError) as info:
        compile_graph(graph)
    message = str(info.value)
    assert "184,467,440,737,095,516,170 parameters" in message and "available" in message
    assert info.value.needed > info.value.available > 0


def test_the_memory_limit_refuses_export_and_train_of_a_model_that_fits_compile(
    tmp_path, monkeypatch, capsys
):
    project = tmp_path / "m.json"
    save_project(mlp((256, 256, 10)), project)  # 68,362 parameters: 267 KiB of weights
    monkeypatch.setenv(LIMIT_ENV, "400K")
    assert available_memory() == 400 * 1024
    assert _run([str(project), "--onnx", str(tmp_path / "m.onnx")]) == 1
    err = capsys.readouterr().err
    assert "cannot export" in err and "needs about 543.2 KiB" in err and "only 400.0 KiB" in err
    compiled = compile_graph(mlp((256, 256, 10)))
    with pytest.raises(ModelTooLargeError, match="gradients and optimizer state"):
        check_fits(compiled.analysis, "train", "mlp", batch_size=64)


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_exports_keep_the_mode_and_write_through_symlinks(tmp_path, small):
    target = tmp_path / "real" / "model.py"
    target.parent.mkdir()
    target.write_text("old")
    os.chmod(target, 0o644)
    link = tmp_path / "model.py"
    link.symlink_to(target)
    export_python(mlp((4, 3, 2)), link)
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"old")
    os.chmod(weights, 0o640)
    save_weights(small.module, weights)
    assert link.is_symlink() and "class" in target.read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert stat.S_IMODE(weights.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.py", "real", "w.safetensors"]


def test_outputs_under_a_regular_file_exit_3(tmp_path, capsys):
    project = tmp_path / "m.json"
    save_project(mlp((4, 3, 2)), project)
    (tmp_path / "afile").write_text("x")
    for option, name in (("--python", "m.py"), ("--weights", "w.pt"), ("--onnx", "m.onnx")):
        assert _run([str(project), option, str(tmp_path / "afile" / name)]) == 3
        err = capsys.readouterr().err
        assert "afile is a file, not a folder" in err and "Traceback" not in err
