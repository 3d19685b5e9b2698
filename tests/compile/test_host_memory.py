"""The memory guard honours control-group limits (v1 and v2, at any level above the process)
and the address-space limit (``ulimit -v``), not only the machine's free memory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from graph_builders import mlp

from dlstudio.analysis import analyze
from dlstudio.compile import host_memory
from dlstudio.compile.limits import available_memory, check_fits
from dlstudio.core.errors import ModelTooLargeError

resource = pytest.importorskip("resource")  # POSIX only
MiB = 1 << 20


def _write(folder: Path, **files: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("_", ".", 1)).write_text(text + "\n")


def _proc(tmp_path: Path, cgroup: str) -> Path:
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "cgroup").write_text(cgroup)
    return proc


def test_cgroup_v2_limit_of_a_parent_group_binds(tmp_path: Path) -> None:
    mount = tmp_path / "cgroup"
    _write(mount / "user.slice", memory_max=str(1024 * MiB), memory_current=str(256 * MiB))
    _write(mount / "user.slice" / "app.scope", memory_max="max", memory_current=str(200 * MiB))
    proc = _proc(tmp_path, "0::/user.slice/app.scope\n")
    assert host_memory.cgroup_available(mount, proc) == [768 * MiB]


def test_cgroup_v1_memory_hierarchy_and_an_unlimited_child(tmp_path: Path) -> None:
    mount = tmp_path / "cgroup"
    memory = mount / "memory"
    _write(memory / "a", memory_limit_in_bytes=str(512 * MiB), memory_usage_in_bytes=str(100 * MiB))
    _write(
        memory / "a" / "b",
        memory_limit_in_bytes="9223372036854771712",  # v1's "no limit"
        memory_usage_in_bytes=str(90 * MiB),
    )
    proc = _proc(tmp_path, "9:pids:/\n4:memory:/a/b\n1:cpu:/\n")
    assert host_memory.cgroup_available(mount, proc) == [412 * MiB]


def test_a_container_sees_its_own_group_at_the_mount(tmp_path: Path) -> None:
    """Inside a container /proc/self/cgroup names a path that exists only on the host."""
    mount = tmp_path / "cgroup"
    _write(mount / "memory", memory_limit_in_bytes=str(300 * MiB), memory_usage_in_bytes="0")
    proc = _proc(tmp_path, "4:memory:/docker/0123abcd\n")
    assert host_memory.cgroup_available(mount, proc) == [300 * MiB]


def test_address_space_limit_minus_what_is_mapped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc = tmp_path / "proc"
    proc.mkdir()
    page = os.sysconf("SC_PAGE_SIZE")
    (proc / "statm").write_text(f"{(400 * MiB) // page} 1000 500 1 0 900 0\n")
    monkeypatch.setattr(resource, "getrlimit", lambda _which: (1024 * MiB, resource.RLIM_INFINITY))
    assert host_memory.address_space_available(proc) == 624 * MiB
    monkeypatch.setattr(resource, "getrlimit", lambda _which: (resource.RLIM_INFINITY,) * 2)
    assert host_memory.address_space_available(proc) is None


def test_ulimit_v_refuses_a_model_that_the_free_memory_would_take(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A process under ``ulimit -v`` with 64 MiB of address space left: a model needing more is
    refused with both figures, though the machine has gigabytes free."""
    page = os.sysconf("SC_PAGE_SIZE")
    mapped = int(Path("/proc/self/statm").read_text().split()[0]) * page
    monkeypatch.setattr(resource, "getrlimit", lambda _which: (mapped + 64 * MiB,) * 2)
    assert available_memory() <= 64 * MiB
    result = analyze(mlp((4096, 4096, 4096, 10)))  # 33.6 M parameters, 128 MiB of weights
    with pytest.raises(ModelTooLargeError, match=r"only 6\d\.\d MiB of memory is available"):
        check_fits(result, "train", "mlp")
