"""One optimizer update from a loss: backward (scaled under fp16), clipping, step."""

from __future__ import annotations

import torch

from dlstudio.train.run_state import LayerFailure


def apply_update(
    loss: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    grad_clip: float,
) -> None:
    """Backward and optimizer step; an exception in either is a :class:`LayerFailure`."""
    optimizer.zero_grad(set_to_none=True)
    params = optimizer.param_groups[0]["params"]
    try:
        if scaler.is_enabled():
            scaler.scale(loss).backward()
            if grad_clip > 0:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(params, grad_clip)
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            if grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(params, grad_clip)
            optimizer.step()
    except Exception as exc:
        raise LayerFailure(exc, "backward") from exc
