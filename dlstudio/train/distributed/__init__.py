"""Data-parallel training over several processes (torch.distributed, launched by torchrun).

``context`` knows which worker this process is and talks to the others, ``sampler`` gives each
worker its share of the single-process order, ``launch`` starts the workers through
``torch.distributed.run``.
"""

from __future__ import annotations

from dlstudio.train.distributed.context import DistContext
from dlstudio.train.distributed.sampler import GlobalOrderSampler

__all__ = ["DistContext", "GlobalOrderSampler"]
