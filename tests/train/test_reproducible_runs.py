"""Same project and seed: the same run, byte for byte, across processes; frozen stays frozen."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from train_projects import digits_cnn, save

from dlstudio.compile import compile_graph
from dlstudio.train import TrainConfig, Trainer, load_dataset
from dlstudio.train.reproducible import deterministic_algorithms, seeded_build

REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "dlstudio", "train", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=REPO,
    )


@pytest.mark.slow
def test_two_processes_with_the_same_seed_write_byte_identical_weights(tmp_path: Path) -> None:
    project = save(digits_cnn(epochs=2), tmp_path / "cnn.json")
    runs = []
    for name in ("a", "b"):
        done = _cli(str(project), "--out", str(tmp_path / name), "--threads", "1")
        assert done.returncode == 0, done.stderr
        runs.append((tmp_path / name / "weights.safetensors").read_bytes())
    assert runs[0] == runs[1]
    # This process repeats them too, and another seed gives another run (the seed really
    # decides). In this process: a third interpreter would cost seconds of start-up alone.
    from test_train_cli import _run

    threads = torch.get_num_threads()
    try:
        for name, seed in (("same", "0"), ("other", "5")):
            argv = ["train", str(project), "--out", str(tmp_path / name), "--threads", "1"]
            assert _run([*argv, "--seed", seed]) == 0
    finally:
        torch.set_num_threads(threads)
    assert (tmp_path / "same" / "weights.safetensors").read_bytes() == runs[0]
    assert (tmp_path / "other" / "weights.safetensors").read_bytes() != runs[0]


def test_initial_weights_depend_on_the_seed_alone() -> None:
    graph = digits_cnn()
    first = seeded_build(lambda: compile_graph(graph), 7).module.state_dict()
    torch.rand(1000)  # whatever was drawn before, and other compiles in between
    compile_graph(graph)
    second = seeded_build(lambda: compile_graph(graph), 7).module.state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    other = seeded_build(lambda: compile_graph(graph), 8).module.state_dict()
    assert not torch.equal(first["conv1.weight"], other["conv1.weight"])


def test_same_seed_same_losses_and_weights_in_one_process() -> None:
    graph = digits_cnn()
    data = load_dataset("digits")
    config = TrainConfig(epochs=2, batch_size=128, lr=0.01, seed=4, device="cpu")
    results = []
    for _ in range(2):
        module = seeded_build(lambda: compile_graph(graph), config.seed).module
        result = Trainer(module, config).run(data)
        assert result.status == "completed", result.message
        results.append(([e.train["loss"] for e in result.history], module.state_dict()))
    assert results[0][0] == results[1][0]
    assert all(torch.equal(results[0][1][k], results[1][1][k]) for k in results[0][1])


def test_deterministic_setting_turns_torch_deterministic_algorithms_on_for_the_run() -> None:
    seen = []

    def spy(_event: object) -> None:
        seen.append(torch.are_deterministic_algorithms_enabled())

    graph = digits_cnn()
    config = TrainConfig(epochs=1, batch_size=512, deterministic=True, device="cpu")
    module = seeded_build(lambda: compile_graph(graph), 0).module
    assert not torch.are_deterministic_algorithms_enabled()
    result = Trainer(module, config, callbacks=[spy]).run(load_dataset("digits"))
    assert result.status == "completed"
    assert seen and all(seen)
    assert not torch.are_deterministic_algorithms_enabled()  # restored after the run
    assert TrainConfig.from_metadata({"deterministic": True}).to_metadata()["deterministic"]
    with deterministic_algorithms(False):
        assert not torch.are_deterministic_algorithms_enabled()


def test_frozen_nodes_keep_every_parameter_and_batchnorm_statistic() -> None:
    graph = digits_cnn()
    for node in list(graph):
        if node.name in ("conv1", "bn1"):
            graph.update_node(node.id, trainable=False)
    compiled = seeded_build(lambda: compile_graph(graph), 0)
    before = {k: v.clone() for k, v in compiled.module.state_dict().items()}
    from dlstudio.train import make_trainer

    config = TrainConfig(epochs=2, batch_size=64, lr=0.05, device="cpu")
    trainer = make_trainer(compiled, config, graph=graph)
    assert trainer.frozen == ["conv1", "bn1"]
    result = trainer.run(load_dataset("digits"))
    assert result.status == "completed"
    after = compiled.module.state_dict()
    frozen = [k for k in before if k.startswith(("conv1.", "bn1."))]
    assert "bn1.running_mean" in frozen and "bn1.num_batches_tracked" in frozen
    assert all(torch.equal(before[k], after[k]) for k in frozen)
    assert not torch.equal(before["fc1.weight"], after["fc1.weight"])


def test_without_the_graph_batchnorm_statistics_do_move() -> None:
    """The counterpart: the test above would fail if freezing left statistics alone."""
    graph = digits_cnn()
    for node in list(graph):
        if node.name == "bn1":
            graph.update_node(node.id, trainable=False)
    compiled = seeded_build(lambda: compile_graph(graph), 0)
    before = compiled.module.state_dict()["bn1.running_mean"].clone()
    config = TrainConfig(epochs=1, batch_size=64, device="cpu")
    Trainer(compiled.module, config).run(load_dataset("digits"))
    assert not torch.equal(before, compiled.module.state_dict()["bn1.running_mean"])


def test_cli_weights_equal_saved_tensors(tmp_path: Path) -> None:
    project = save(digits_cnn(epochs=1), tmp_path / "cnn.json")
    from test_train_cli import _run

    assert _run(["train", str(project), "--out", str(tmp_path / "r"), "--threads", "1"]) == 0
    weights = load_file(str(tmp_path / "r" / "weights.safetensors"))
    assert "bn1.running_var" in weights


def test_compile_setting_runs_the_model_through_torch_compile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``compile: true`` hands the module to torch.compile (off by default); the weights stay
    the module's own, without torch.compile's ``_orig_mod.`` prefix."""
    calls: list[torch.nn.Module] = []

    def spy(module: torch.nn.Module, **_kwargs: object) -> torch.nn.Module:
        calls.append(module)
        return module

    monkeypatch.setattr(torch, "compile", spy)
    graph = digits_cnn()
    data = load_dataset("digits")
    module = seeded_build(lambda: compile_graph(graph), 0).module
    trainer = Trainer(module, TrainConfig(epochs=1, batch_size=512, device="cpu"))
    assert trainer.run(data).status == "completed" and calls == []
    trainer = Trainer(module, TrainConfig(epochs=1, batch_size=512, compile=True, device="cpu"))
    assert trainer.run(data).status == "completed"
    assert calls == [module]
    assert not any(k.startswith("_orig_mod.") for k in trainer.model.state_dict())
    assert TrainConfig.from_metadata({"compile": True}).to_metadata()["compile"] is True
    assert TrainConfig().compile is False


def test_thread_default_leaves_a_core_free_and_explicit_counts_win() -> None:
    from dlstudio.train.threads import auto_threads, choose_threads

    assert [auto_threads(n) for n in (1, 2, 4, 16)] == [1, 1, 3, 8]
    before = torch.get_num_threads()
    try:
        assert choose_threads(2) == 2 and torch.get_num_threads() == 2
        assert choose_threads(1) == 1 and torch.get_num_threads() == 1
        with pytest.raises(ValueError):
            choose_threads(-1)
    finally:
        torch.set_num_threads(before)
    from dlstudio.train import TrainError

    with pytest.raises(TrainError, match="threads"):
        TrainConfig(threads=-2)


def test_resuming_from_a_weights_file_points_to_init_weights(tmp_path: Path) -> None:
    module = compile_graph(digits_cnn()).module
    from dlstudio.train import save_weights

    save_weights(module, tmp_path / "w.pt")
    result = Trainer(module, TrainConfig(epochs=1)).run(
        load_dataset("digits"), resume_from=tmp_path / "w.pt"
    )
    assert result.status == "failed" and "--init-weights" in result.message
