"""How many CPU threads torch uses for a run.

On a machine that other programs keep busy, torch's default (one thread per core) is a trap for
small models: each operation is split into pieces so small that the threads spend their time
waiting for one another and for the cores they share, and a run can become tens of times slower
than on one thread (see docs/benchmarks.md). The default therefore leaves one core free and uses
at most eight: one thread on a two-core laptop, where that is also the fastest choice for the
models of the lectures.
"""

from __future__ import annotations

import os

import torch

MAX_AUTO_THREADS = 8
# Torch's own default, read at import: a different count later means someone chose it on purpose.
_TORCH_DEFAULT_THREADS = torch.get_num_threads()
_ours: int | None = None  # the count this module set last


def auto_threads(cores: int | None = None) -> int:
    """The default thread count for ``cores`` cores (torch's default count when None)."""
    cores = _TORCH_DEFAULT_THREADS if cores is None else cores
    return max(1, min(cores - 1, MAX_AUTO_THREADS))


def choose_threads(requested: int = 0) -> int:
    """Set torch's intra-op threads for a run and return the count.

    ``requested`` > 0 is used as it is. With 0, a count set by ``OMP_NUM_THREADS`` or by an
    earlier ``torch.set_num_threads`` call outside this module is left alone; otherwise
    :func:`auto_threads` decides.
    """
    global _ours
    if requested < 0:
        raise ValueError(f"threads must be 0 (choose) or more, got {requested}")
    current = torch.get_num_threads()
    if requested:
        wanted = requested
    else:
        chosen_elsewhere = current != _TORCH_DEFAULT_THREADS and current != _ours
        if "OMP_NUM_THREADS" in os.environ or chosen_elsewhere:
            return current
        wanted = auto_threads()
    if wanted != current:
        torch.set_num_threads(wanted)
    _ours = wanted
    return wanted
