"""``train --nproc-per-node N``: start the workers through torchrun (``torch.distributed.run``).

Each worker is ``python -m dlstudio train FILE ...`` with the same arguments minus the launch
options, so running ``torchrun ... -m dlstudio train FILE`` by hand is the same thing. A worker
that fails writes its message to torchrun's error file; torchrun then stops the other workers,
and the launcher prints each failure with its rank and node instead of a traceback.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from dlstudio.core.errors import DLStudioError
from dlstudio.core.files import write_text_atomic

LAUNCH_OPTIONS = {
    "--nproc-per-node": True,
    "--nnodes": True,
    "--node-rank": True,
    "--master-addr": True,
    "--master-port": True,
    "--rdzv-endpoint": True,
    "--rdzv-id": True,
}
"""The options that belong to the launcher (True: they take a value), not to the workers."""


@dataclass(frozen=True)
class LaunchOptions:
    """Where the workers run: ``nproc_per_node`` on each of ``nnodes`` machines."""

    nproc_per_node: int = 1
    nnodes: int = 1
    node_rank: int = 0
    master_addr: str = "127.0.0.1"
    master_port: int | None = None
    rdzv_endpoint: str | None = None
    rdzv_id: str = "dlstudio"

    def torchrun_args(self) -> list[str]:
        """torchrun's own options for these settings."""
        args = [f"--nproc-per-node={self.nproc_per_node}", "--max-restarts=0"]
        if self.rdzv_endpoint:
            args += [
                f"--nnodes={self.nnodes}",
                "--rdzv-backend=c10d",
                f"--rdzv-endpoint={self.rdzv_endpoint}",
                f"--rdzv-id={self.rdzv_id}",
            ]
        elif self.nnodes > 1 or self.master_port is not None:
            args += [
                f"--nnodes={self.nnodes}",
                f"--node-rank={self.node_rank}",
                f"--master-addr={self.master_addr}",
                f"--master-port={self.master_port or 29500}",
            ]
        else:
            args.append("--standalone")  # one machine: torchrun picks a free port
        return args


def worker_argv(argv: Sequence[str]) -> list[str]:
    """``argv`` without the launcher's options (``--opt value`` and ``--opt=value``)."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in LAUNCH_OPTIONS:
            skip = LAUNCH_OPTIONS[name] and "=" not in arg
            continue
        out.append(arg)
    return out


def launch(options: LaunchOptions, train_argv: Sequence[str]) -> int:
    """Run the workers (``train_argv``: the worker's arguments after ``train``); returns the
    exit code: 0 when every worker finished, 1 when one failed (printed with rank and node)."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    # Its own log lines repeat what the workers and failure_lines() say, with timestamps and pids.
    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)
    args = parse_args(
        [*options.torchrun_args(), "--module", "dlstudio", "train", *worker_argv(train_argv)]
    )
    try:
        run(args)
    except ChildFailedError as exc:
        for line in failure_lines(exc, options.node_rank):
            print(f"error: {line}", file=sys.stderr)
        return 1
    except Exception as exc:  # rendezvous problems: a port in use, a node that never came
        print(
            f"error: could not start the workers ({type(exc).__name__}: {exc}); check "
            "--master-addr, --master-port and that every node runs the same command",
            file=sys.stderr,
        )
        return 1
    return 0


def failure_lines(exc: object, node_rank: int) -> list[str]:
    """One line per failed worker, first failure first."""
    failures = sorted(
        getattr(exc, "failures", {}).items(), key=lambda item: (item[1].timestamp, item[0])
    )
    lines = []
    for rank, failure in failures:
        message = failure.message
        if isinstance(message, dict):
            message = message.get("message", str(message))
        message = str(message).strip()
        if not message.startswith("rank "):
            message = (
                f"rank {rank} (node {node_rank}): {message or f'exit code {failure.exitcode}'}"
            )
        lines.append(f"worker {message}")
    return lines or [f"a worker failed: {exc}"]


def report_worker_failure(message: str) -> None:
    """In a worker: leave ``message`` where torchrun reads why the worker failed."""
    path = os.environ.get("TORCHELASTIC_ERROR_FILE")
    if not path:
        return
    # A failed write is no loss: the exit code still tells torchrun the worker failed.
    with contextlib.suppress(OSError, DLStudioError):
        write_text_atomic(path, json.dumps({"message": message, "timestamp": int(time.time())}))
