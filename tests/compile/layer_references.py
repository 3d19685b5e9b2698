"""What each layer must compute, written with torch's own functions: ``REFERENCES[type_id]``
takes the inputs (in the case's port order), the layer's parameters (defaults applied) and its
weights (``state_dict`` keys without the node's prefix) and returns the expected output(s)."""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from typing import Any

import torch

Tensors = list[torch.Tensor]
Reference = Callable[[Tensors, dict[str, Any], dict[str, torch.Tensor]], Any]

REFERENCES: dict[str, Reference] = {
    "add": lambda xs, p, w: reduce(torch.add, xs),
    "multiply": lambda xs, p, w: reduce(torch.mul, xs),
    "subtract": lambda xs, p, w: torch.sub(*xs),
    "divide": lambda xs, p, w: torch.div(*xs),
    "matmul": lambda xs, p, w: torch.matmul(*xs),
    "concat": lambda xs, p, w: torch.cat(xs, dim=p["axis"]),
    "parameter": lambda xs, p, w: w[""],
}
