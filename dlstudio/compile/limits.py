"""Refusing work that cannot fit: the analysis's estimate against the memory really available.

Compiling, training and exporting call :func:`check_fits` first, so a model that needs 8 GiB on
a 4 GiB machine is refused with both figures instead of failing deep inside torch (or taking the
machine down). On the CPU the memory available is the smallest of the kernel's figure, the
room left in the process's control groups and under its address-space limit (see
:mod:`dlstudio.compile.host_memory`). ``DLSTUDIO_MEMORY_LIMIT`` (bytes, or with a K/M/G/T suffix) caps what is
considered available, for shared machines.
"""

from __future__ import annotations

import os

import torch

from dlstudio.analysis.memory import MemoryEstimate, estimate_memory, format_bytes
from dlstudio.analysis.result import AnalysisResult
from dlstudio.compile.host_memory import host_available
from dlstudio.core.errors import ModelTooLargeError

LIMIT_ENV = "DLSTUDIO_MEMORY_LIMIT"
_SUFFIXES = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def available_memory(device: str | torch.device = "cpu") -> int | None:
    """Bytes free for tensors on ``device`` now (None when the platform does not say)."""
    device = torch.device(device)
    figures: list[int] = []
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        free, _total = torch.cuda.mem_get_info(index)
        cached = torch.cuda.memory_reserved(index) - torch.cuda.memory_allocated(index)
        figures.append(int(free + cached))
    elif device.type == "mps":
        figures.append(
            int(torch.mps.recommended_max_memory() - torch.mps.driver_allocated_memory())
        )
    else:
        figures += host_available()
    limit = _env_limit()
    if limit is not None:
        figures.append(limit)
    return min(figures) if figures else None


def check_fits(
    result: AnalysisResult,
    task: str,
    name: str = "",
    device: str | torch.device = "cpu",
    batch_size: int = 1,
    optimizer: str = "adam",
) -> MemoryEstimate:
    """The estimate for ``task`` on the model called ``name``; raises :class:`ModelTooLargeError` when it exceeds what is
    available on ``device``."""
    estimate = estimate_memory(result, task, batch_size, optimizer)
    available = available_memory(device)
    if available is not None and estimate.total_bytes > available:
        hint = "make the model smaller (fewer channels, features or layers)"
        if task == "train" and estimate.activation_bytes > estimate.weights_bytes:
            hint = "lower the batch size or " + hint
        raise ModelTooLargeError(
            f"cannot {task} {repr(name) if name else 'the model'}: it needs about "
            f"{estimate.describe()}, but only {format_bytes(available)} of memory is available "
            f"on {torch.device(device)}; {hint}",
            needed=estimate.total_bytes,
            available=available,
        )
    return estimate


def _env_limit() -> int | None:
    text = os.environ.get(LIMIT_ENV, "").strip().lower().removesuffix("b").removesuffix("i")
    if not text:
        return None
    scale = _SUFFIXES.get(text[-1], 1)
    try:
        return int(float(text[:-1] if scale != 1 else text) * scale)
    except ValueError:
        return None
