"""Same project, seed and device: same run.

Initial weights are drawn under the run's seed (whatever was drawn before, and however often the
graph was compiled for the editor's previews), and ``deterministic: true`` turns on torch's
deterministic algorithms for the run.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import TypeVar

import torch

T = TypeVar("T")

_CUBLAS_KEY = "CUBLAS_WORKSPACE_CONFIG"


def seeded_build(build: Callable[[], T], seed: int) -> T:
    """Call ``build`` (e.g. ``lambda: compile_graph(graph)``) with torch's CPU generator seeded
    by ``seed``, so the module's initial weights depend on the seed alone; the caller's random
    state is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


@contextlib.contextmanager
def deterministic_algorithms(enabled: bool) -> Iterator[None]:
    """With ``enabled``: torch's deterministic algorithms (an operation without one raises,
    naming itself), cuDNN without benchmarking, and cuBLAS's fixed workspace; restored after."""
    if not enabled:
        yield
        return
    previous = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.benchmark,
        torch.backends.cudnn.deterministic,
        os.environ.get(_CUBLAS_KEY),
    )
    # cuBLAS reads this when its handle is created; it must be set before the first matmul.
    os.environ.setdefault(_CUBLAS_KEY, ":4096:8")
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous[0], warn_only=previous[1])
        torch.backends.cudnn.benchmark = previous[2]
        torch.backends.cudnn.deterministic = previous[3]
        if previous[4] is None:
            os.environ.pop(_CUBLAS_KEY, None)
