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
    "split": lambda xs, p, w: (
        torch.split(xs[0], list(p["sizes"]), p["dim"])
        if p["sizes"]
        else torch.chunk(xs[0], p["outputs"], p["dim"])
    ),
    "slice": lambda xs, p, w: torch.narrow_copy(xs[0], 0, 0, xs[0].shape[0])[
        (slice(None),) * (p["dim"] % xs[0].dim()) + (slice(p["start"], p["end"], p["step"]),)
    ],
    "squeeze": lambda xs, p, w: torch.squeeze(xs[0], p["dim"]),
    "unsqueeze": lambda xs, p, w: torch.unsqueeze(xs[0], p["dim"]),
    "transpose": lambda xs, p, w: torch.transpose(xs[0], p["dim0"], p["dim1"]),
    "expand": lambda xs, p, w: xs[0].expand(
        *((xs[1].shape[0], *p["shape"][1:]) if len(xs) > 1 else p["shape"])
    ),
    "tile": lambda xs, p, w: torch.tile(xs[0], p["repeats"]),
}
