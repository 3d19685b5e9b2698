"""Turning exceptions raised inside a model into messages that name the layer."""

from __future__ import annotations

import re
import traceback
from pathlib import Path

import torch
from torch import nn

_SELF_CALL = re.compile(r"self\.([A-Za-z_][A-Za-z0-9_]*)\s*\(")


def failing_layer(model: nn.Module, exc: BaseException) -> str | None:
    """The top-level layer (node) name whose code raised ``exc``, found from the traceback.

    Walking the frames costs nothing while training runs, unlike hooks on every module. The
    deepest frame whose ``self`` is a submodule wins; if the error is in the model's own forward
    (e.g. adding tensors of different shapes), the failing ``self.<name>(...)`` line is used.
    """
    names = {id(m): name for name, m in model.named_modules() if name}
    layer = None
    top_line = None
    tb = exc.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        if owner is not None:
            if id(owner) in names:
                layer = names[id(owner)]
            elif owner is model:
                top_line = tb
        tb = tb.tb_next
    if layer is not None:
        return layer.split(".")[0]
    if top_line is not None:
        summary = traceback.extract_tb(top_line, limit=1)
        line = summary[0].line if summary else None
        match = _SELF_CALL.search(line or "")
        if match and match.group(1) in dict(model.named_children()):
            return match.group(1)
    return None


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA / MPS out-of-memory errors (not for host RAM exhaustion)."""
    oom_type = getattr(torch, "OutOfMemoryError", None) or torch.cuda.OutOfMemoryError
    if isinstance(exc, oom_type):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def exception_text(exc: BaseException) -> str:
    """The full traceback as text, for the details of a FailedEvent."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def layer_failure_message(
    exc: BaseException, phase: str, layer: str | None, step: int, batch_size: int
) -> str:
    """``layer conv2 failed in the forward pass at step 3: ...``, or advice for out-of-memory."""
    where = f"layer {layer}" if layer else "the model"
    if is_out_of_memory(exc):
        return (
            f"out of device memory in {where} at step {step} (batch size {batch_size}); lower "
            "the batch size, use a smaller model, or train on the CPU"
        )
    return f"{where} failed in the {phase} pass at step {step}: {type(exc).__name__}: {exc}"


def non_finite_message(
    value: float, step: int, checkpoint: Path | None, phase: str = "training"
) -> str:
    """What happened when the loss became NaN or infinite, what was kept, and what to try."""
    kept = (
        f"the last good checkpoint {checkpoint} is kept and its weights restored"
        if checkpoint
        else "no checkpoint was saved before it"
    )
    where = f"the loss became {value} at step {step}"
    if phase != "training":
        where = f"the {phase} loss became {value} after step {step}"
    return (
        f"{where}; training stopped and {kept}. "
        "Try a lower learning rate, gradient clipping, or check the data for bad values"
    )
