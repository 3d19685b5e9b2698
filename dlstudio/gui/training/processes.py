"""Training on several processes from the editor: the same launcher as ``train --nproc-per-node``.

The worker thread writes the snapshot (data paths made absolute) into the run folder, starts
``python -m dlstudio train`` with ``--nproc-per-node N`` as a child process, and replays rank 0's
``metrics.jsonl`` as the trainer's own events while it runs, so curves, log and progress work as
for a run in this process. Stop sends Ctrl-C to the launcher (torchrun passes it to every
worker, which stop after the batch and save a checkpoint); pausing is not offered.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dlstudio
from dlstudio.core import save_project
from dlstudio.train import (
    EpochEvent,
    FailedEvent,
    FinishedEvent,
    NoticeEvent,
    PausedEvent,
    RunControl,
    RunResult,
    StepEvent,
)
from dlstudio.train.data.hf_tokenizer import project_tokenizer_folder
from dlstudio.train.data_paths import resolve_training_paths

_EVENTS: dict[str, type] = {
    "step": StepEvent,
    "epoch": EpochEvent,
    "paused": PausedEvent,
    "notice": NoticeEvent,
    "finished": FinishedEvent,
    "failed": FailedEvent,
}
POLL_S = 0.1


def event_from_record(record: dict[str, Any]) -> Any:
    """The event a ``metrics.jsonl`` line was written from (None for unknown kinds)."""
    cls = _EVENTS.get(str(record.get("event")))
    if cls is None:
        return None
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in record.items() if k in names})


def launcher_command(request: Any, processes: int, project: Path) -> list[str]:
    """``python -m dlstudio train PROJECT --nproc-per-node N ...`` for ``request``."""
    command = [sys.executable, "-m", "dlstudio", "train", str(project)]
    command += ["--nproc-per-node", str(processes), "--device", request.device]
    command += ["--out", str(request.folder)]
    if request.init_weights is not None:
        command += ["--init-weights", str(request.init_weights)]
    if request.threads:
        command += ["--threads", str(request.threads)]
    if getattr(request, "tensorboard", None) is not None:
        command += ["--tensorboard", str(request.tensorboard)]
    return command


def run_on_processes(
    request: Any, processes: int, control: RunControl, emit: Callable[[Any], None]
) -> RunResult:
    """Run the launcher for ``request`` and relay its events; the run's result."""
    folder: Path = request.folder
    folder.mkdir(parents=True, exist_ok=True)
    graph = request.graph.copy()
    graph.metadata["training"] = resolve_training_paths(request.training, request.base_dir)
    tokenizer = project_tokenizer_folder(graph.metadata, request.project_path)
    if tokenizer is not None:  # launch.json lives in the run folder, not beside the project
        graph.metadata["tokenizer"] = tokenizer
    project = folder / "launch.json"
    save_project(graph, project)
    env = dict(os.environ)
    source = str(Path(dlstudio.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
    child = subprocess.Popen(
        launcher_command(request, processes, project),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    metrics = folder / "metrics.jsonl"
    offset, history, ending = 0, [], None
    interrupted = False
    while True:
        done = child.poll() is not None
        if control.stop_requested and not interrupted and not done:
            child.send_signal(signal.SIGINT)
            interrupted = True
        if metrics.exists():
            with metrics.open(encoding="utf-8") as handle:
                handle.seek(offset)
                for line in iter(handle.readline, ""):
                    if not line.endswith("\n"):
                        break  # a line still being written: read it next time
                    offset += len(line.encode("utf-8"))
                    event = event_from_record(json.loads(line))
                    if isinstance(event, EpochEvent):
                        history.append(event)
                    if isinstance(event, FinishedEvent | FailedEvent):
                        ending = event
                    if event is not None:
                        emit(event)
        if done:
            break
        time.sleep(POLL_S)
    errors = child.stderr.read() if child.stderr else ""
    if isinstance(ending, FinishedEvent) and child.returncode == 0:
        checkpoint = Path(ending.checkpoint) if ending.checkpoint else None
        return RunResult(
            ending.reason,
            ending.epochs,
            ending.steps,
            history,
            dict(ending.best),
            checkpoint=checkpoint,
            best_epoch=ending.best_epoch,
        )
    lines = [ln.removeprefix("error: ") for ln in errors.splitlines() if ln.startswith("error:")]
    message = (
        "; ".join(dict.fromkeys(lines)) or f"the launcher ended with exit code {child.returncode}"
    )
    if not isinstance(ending, FailedEvent):
        emit(FailedEvent(message, errors[-4000:]))
    return RunResult("failed", len(history), 0, history, message=message)
