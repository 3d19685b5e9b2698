"""The first convolution's kernels: what the network looks for in the raw input."""

from __future__ import annotations

import numpy as np
from torch import nn

from dlstudio.lens import render


def first_convolution(module: nn.Module) -> tuple[str, nn.Conv2d] | None:
    """The first 2-D convolution in definition order (module path, module), if any."""
    for path, sub in module.named_modules():
        if isinstance(sub, nn.Conv2d):
            return path, sub
    return None


def filters_picture(module: nn.Module, longest: int = 480) -> tuple[str, np.ndarray] | None:
    """(module path, picture of its kernels) for the first convolution; None without one."""
    found = first_convolution(module)
    if found is None:
        return None
    path, conv = found
    weight = conv.weight.detach().float().cpu().numpy()
    return path, render.filter_grid(weight, longest)
