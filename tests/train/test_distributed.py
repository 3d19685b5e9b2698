"""Data-parallel training through torchrun: the same weights as one process, across "nodes"."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO

import pytest
import torch
from safetensors.torch import load_file
from train_projects import iris_mlp_project, save

from dlstudio.train.distributed.launch import LaunchOptions, worker_argv
from dlstudio.train.distributed.sampler import GlobalOrderSampler, epoch_order

REPO = Path(__file__).resolve().parents[2]
# 120 training samples in batches of 17: the last global batch has one sample, so one worker
# gets none of it; the result must still equal the single-process run.
ARGS = ("--batch-size", "17", "--epochs", "3", "--device", "cpu", "--threads", "1")


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    return env


_LOGS: dict[int, IO[str]] = {}
"""Each running process's stderr file, by pid."""


def _train(*args: str) -> subprocess.Popen[str]:
    # Output goes to files, not pipes: two "nodes" wait for each other, so a node blocked on a
    # full pipe nobody reads yet would hang the pair.
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed by _wait)
    process = subprocess.Popen(
        [sys.executable, "-m", "dlstudio", "train", *args],
        stdout=subprocess.DEVNULL,
        stderr=log,
        text=True,
        env=_env(),
        cwd=REPO,
    )
    _LOGS[process.pid] = log
    return process


def _wait(*processes: subprocess.Popen[str], timeout: float = 180) -> list[str]:
    """Wait for every process (killing all of them on a timeout); their stderr texts."""
    try:
        for process in processes:
            process.wait(timeout=timeout)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    errors = []
    for process in processes:
        log = _LOGS.pop(process.pid)
        log.seek(0)
        errors.append(log.read())
        log.close()
    return errors


def _finish(*processes: subprocess.Popen[str]) -> list[str]:
    """Wait for every process; each must succeed. Their stderr texts."""
    errors = _wait(*processes)
    for process, err in zip(processes, errors, strict=True):
        assert process.returncode == 0, err
    return errors


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _assert_close(a: Path, b: Path) -> None:
    one, two = load_file(str(a)), load_file(str(b))
    assert one.keys() == two.keys()
    for key in one:
        assert torch.allclose(one[key], two[key], atol=1e-5, rtol=0), key


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save(iris_mlp_project(), tmp_path_factory.mktemp("iris") / "iris.json")


@pytest.fixture(scope="module")
def single(project: Path) -> Path:
    """The single-process run's weights (trained in this process, on one thread)."""
    from test_train_cli import _run

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert _run(["train", str(project), *ARGS, "--out", str(project.parent / "one")]) == 0
    finally:
        torch.set_num_threads(before)
    return project.parent / "one" / "weights.safetensors"


@pytest.mark.slow
def test_two_cpu_workers_give_the_single_process_weights(
    project: Path, single: Path, tmp_path: Path
) -> None:
    two = _train(str(project), *ARGS, "--out", str(tmp_path / "two"), "--nproc-per-node", "2")
    (err,) = _finish(two)
    assert "on 2 processes" in err
    _assert_close(single, tmp_path / "two" / "weights.safetensors")
    # Rank 0 alone wrote the run: one metrics file with one line per epoch.
    epochs = (tmp_path / "two" / "metrics.jsonl").read_text().count('"event": "epoch"')
    assert epochs == 3
    # Its checkpoint (global position) resumes on another number of workers: here, one.
    from test_train_cli import _run

    code = _run(
        [
            "train",
            str(project),
            *ARGS[:2],
            "--epochs",
            "4",
            "--device",
            "cpu",
            "--resume",
            str(tmp_path / "two" / "checkpoint.pt"),
            "--out",
            str(tmp_path / "resumed"),
        ]
    )
    assert code == 0
    records = (tmp_path / "resumed" / "metrics.jsonl").read_text()
    assert '"epoch": 4' in records and '"epoch": 1,' not in records


@pytest.mark.slow
def test_two_nodes_on_loopback(project: Path, single: Path, tmp_path: Path) -> None:
    port = str(_free_port())
    common = (*ARGS, "--nnodes", "2", "--nproc-per-node", "1", "--master-addr", "127.0.0.1")
    nodes = [
        _train(
            str(project),
            *common,
            "--master-port",
            port,
            "--node-rank",
            str(rank),
            "--out",
            str(tmp_path / "dist"),
        )
        for rank in (0, 1)
    ]
    _finish(*nodes)
    _assert_close(single, tmp_path / "dist" / "weights.safetensors")


@pytest.mark.slow
def test_a_failing_worker_ends_the_run_with_its_rank_and_node(
    project: Path, tmp_path: Path
) -> None:
    run = _train(str(project), "--device", "cuda", "--nproc-per-node", "2", "--out", str(tmp_path))
    (err,) = _wait(run)
    assert run.returncode == 1
    lines = [line for line in err.splitlines() if line.startswith("error: worker")]
    assert lines and "rank 0 (node 0)" in err and "cuda" in lines[0]
    assert "Traceback" not in "\n".join(lines)
    assert "rank 0 (node 0): rank 0" not in err


def test_sampler_shards_make_up_the_single_process_batches() -> None:
    order = epoch_order(23, seed=5, epoch=2)
    samplers = [GlobalOrderSampler(23, 5, rank, 3) for rank in range(3)]
    for s in samplers:
        s.set_epoch(2)
    assert torch.equal(samplers[0].order(), order)
    batch = order[4:11]
    parts = [s.local(batch) for s in samplers]
    assert sorted(torch.cat(parts).tolist()) == sorted(batch.tolist())
    assert sum(len(s) for s in samplers) == 23
    assert sorted(i for s in samplers for i in s) == list(range(23))


def test_launch_options_become_torchrun_arguments() -> None:
    single = LaunchOptions(nproc_per_node=2).torchrun_args()
    assert "--standalone" in single and "--nproc-per-node=2" in single
    multi = LaunchOptions(2, nnodes=2, node_rank=1, master_port=1234).torchrun_args()
    assert "--node-rank=1" in multi and "--master-port=1234" in multi
    rdzv = LaunchOptions(1, nnodes=2, rdzv_endpoint="127.0.0.1:29400").torchrun_args()
    assert "--rdzv-backend=c10d" in rdzv
    argv = ["f.json", "--nproc-per-node", "2", "--master-port=5", "--epochs", "3"]
    assert worker_argv(argv) == ["f.json", "--epochs", "3"]
