"""Which worker this process is, and the few collective operations the trainer needs.

torchrun (``torch.distributed.run``) sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and
``GROUP_RANK`` (the node) for each worker; without them the process trains alone and every
operation here is free.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from dlstudio.train.errors import TrainError

# A worker that waits longer than this for the others gives up with a message instead of hanging.
DEFAULT_TIMEOUT_S = 300


@dataclass(frozen=True)
class DistContext:
    """This worker's place among ``world_size`` workers (one worker: ``rank`` 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    node_rank: int = 0

    @classmethod
    def from_environment(cls) -> DistContext:
        """The worker torchrun started this process as, or a lone process."""
        env = os.environ
        if "RANK" not in env or "WORLD_SIZE" not in env:
            return cls()
        try:
            return cls(
                rank=int(env["RANK"]),
                world_size=int(env["WORLD_SIZE"]),
                local_rank=int(env.get("LOCAL_RANK", "0")),
                node_rank=int(env.get("GROUP_RANK", env.get("NODE_RANK", "0"))),
            )
        except ValueError:
            raise TrainError(
                f"torchrun's RANK/WORLD_SIZE/LOCAL_RANK are not numbers ({env['RANK']!r}, "
                f"{env['WORLD_SIZE']!r}); start the run with python -m dlstudio train "
                "--nproc-per-node N"
            ) from None

    @property
    def active(self) -> bool:
        """True with more than one worker."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes metrics, checkpoints, weights and progress."""
        return self.rank == 0

    @property
    def label(self) -> str:
        """``rank 1 (node 0)``, for messages."""
        return f"rank {self.rank} (node {self.node_rank})"

    def device(self, setting: str) -> torch.device | None:
        """The device of this worker when several share a machine (its own GPU); None leaves
        the choice to the usual ``device`` setting."""
        if not self.active:
            return None
        wants_cuda = setting.startswith("cuda") or (setting == "auto" and torch.cuda.is_available())
        if wants_cuda:
            if not torch.cuda.is_available():
                raise TrainError(f"{self.label}: device {setting} asked for but no CUDA GPU")
            count = torch.cuda.device_count()
            if self.local_rank >= count:
                raise TrainError(
                    f"{self.label}: {count} GPU(s) on this node but local rank {self.local_rank}; "
                    f"use --nproc-per-node {count} or fewer"
                )
            torch.cuda.set_device(self.local_rank)
            return torch.device("cuda", self.local_rank)
        return torch.device("cpu")

    def start(self, device: torch.device) -> None:
        """Join the process group: NCCL between GPUs, gloo on the CPU."""
        if not self.active or dist.is_initialized():
            return
        backend = "nccl" if device.type == "cuda" else "gloo"
        timeout = datetime.timedelta(
            seconds=float(os.environ.get("DLSTUDIO_DIST_TIMEOUT_S", DEFAULT_TIMEOUT_S))
        )
        try:
            dist.init_process_group(backend, timeout=timeout)
        except Exception as exc:
            raise TrainError(
                f"{self.label}: could not join the other workers ({type(exc).__name__}: {exc}); "
                "check --master-addr / --master-port and that every node started"
            ) from None

    def stop(self, together: bool = False) -> None:
        """Leave the process group (safe to call when not in one). ``together`` (a run that
        ended well on every worker): wait for the others first, so no worker closes its
        connections while another still uses them (a worker then died of SIGABRT now and then
        while rank 0 was writing the weights)."""
        if self.active and dist.is_initialized():
            if together:
                with contextlib.suppress(Exception):  # a worker already gone: leave anyway
                    dist.barrier()
            dist.destroy_process_group()

    def wrap(self, model: nn.Module, device: torch.device, sync_batchnorm: bool) -> nn.Module:
        """``model`` as DistributedDataParallel (with SyncBatchNorm if asked); itself alone."""
        if not self.active:
            return model
        if sync_batchnorm:
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        ids = [device.index] if device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """The sum over every worker (in place; the tensor itself alone)."""
        if self.active:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def any(self, flag: bool, device: torch.device) -> bool:
        """True on every worker when ``flag`` is true on any of them."""
        if not self.active:
            return flag
        value = torch.tensor([1.0 if flag else 0.0], device=device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item() > 0)
