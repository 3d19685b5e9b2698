"""Run records and imported weights go through the one atomic writer (core.files.atomic_path):
symlinks written through, the file's mode kept, nothing half-written or left behind."""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from graph_builders import mlp

import dlstudio.core.files as core_files
from dlstudio.compile import compile_graph
from dlstudio.compile.importers.project import write_import
from dlstudio.compile.importers.report import ImportResult
from dlstudio.core.errors import DiskFullError
from dlstudio.train.history import RUN_FILE, RunStore

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes and symlinks")


def _run_record(tmp_path: Path) -> Callable[[], Path]:
    store = RunStore(tmp_path / "runs")
    record = store.create(mlp((4, 3, 2)), {"epochs": 1}, datetime(2026, 1, 2, 3, 4, 5))

    def write() -> Path:
        record.status = "finished"
        store.save(record)
        return record.folder / RUN_FILE

    return write


def _imported_weights(tmp_path: Path) -> Callable[[], Path]:
    graph = mlp((4, 3, 2))
    state = compile_graph(graph).module.state_dict()
    project = tmp_path / "imported" / "model.json"

    def write() -> Path:
        weights = write_import(ImportResult(graph.copy(), keyed_weights=state), project)
        assert weights is not None
        return weights

    return write


WRITERS = {"run record": _run_record, "imported weights": _imported_weights}


@posix_only
@pytest.mark.parametrize("writer", list(WRITERS))
def test_writes_go_through_a_symlink_and_keep_the_mode(writer: str, tmp_path: Path) -> None:
    write = WRITERS[writer](tmp_path)
    target = write()
    real = tmp_path / "elsewhere" / target.name
    real.parent.mkdir()
    os.replace(target, real)
    target.symlink_to(real)
    os.chmod(real, 0o640)
    write()
    assert target.is_symlink() and target.resolve() == real.resolve()
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert not [p.name for p in target.parent.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_full_disk_leaves_the_old_file_and_no_temp(
    writer: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write = WRITERS[writer](tmp_path)
    target = write()
    before = target.read_bytes()
    names = sorted(p.name for p in target.parent.iterdir())

    def full(*_args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(core_files.os, "replace", full)
    with pytest.raises(DiskFullError, match="the disk is full"):
        write()
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert sorted(p.name for p in target.parent.iterdir()) == names
