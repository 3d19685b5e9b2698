"""Padding masks in generated code: the mask arguments the mask-using layers pass on.

The model computes each padded Input's mask once at the top of forward()
(``tokens_mask = tokens != 0``, True at real steps); these helpers pick the right one for a
layer's port and combine it with a mask wired in by hand, as PyTorch combines
``key_padding_mask`` with ``attn_mask``: a step is attended only when both allow it.
"""

from __future__ import annotations

from dlstudio.compile.emitters.base import EmitContext
from dlstudio.compile.emitters.helpers import Helper, register_helper

MASKED_MEAN = register_helper(
    Helper(
        "masked_mean",
        '''
def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The mean of x (N, T, E) over the steps where mask (N, T) is True: padding left out."""
    weights = mask.unsqueeze(-1).to(x.dtype)  # (N, T, 1)
    return (x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
''',
    )
)

LAST_REAL_STEP = register_helper(
    Helper(
        "last_real_step",
        '''
def last_real_step(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """x (N, T, E) at each sequence's last real step, mask (N, T) True at real steps
    (padding at the end): (N, E)."""
    last = (mask.sum(dim=1) - 1).clamp(min=0)  # (N,)
    return x[torch.arange(x.size(0), device=x.device), last]
''',
    )
)


def key_mask(ctx: EmitContext, data_port: str, explicit_port: str) -> str | None:
    """The keys' mask for an attention call: the padding mask travelling with ``data_port``,
    the mask wired into ``explicit_port``, both (a step must pass each), or None."""
    explicit = ctx.args.get(explicit_port)
    padding = ctx.mask_of(data_port)
    if explicit and padding:
        return f"{explicit}.bool() & {padding}"
    return explicit or padding
