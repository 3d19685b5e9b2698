"""What a health sample reports: per-node statistics (:class:`NodeHealth`), the event that
carries them (:class:`HealthEvent`) and the warnings they raise (:func:`node_warnings`).
:class:`~dlstudio.train.health.HealthMonitor` measures them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEAD_FRACTION = 0.9
"""A ReLU whose outputs are zero more often than this is reported as mostly dead."""
VANISHING_NORM = 1e-7
"""Parameter gradients with a smaller norm are reported as vanishing."""
EXPLODING_NORM = 1e3
"""Parameter gradients with a larger norm are reported as exploding."""
DEAD_TYPES = frozenset({"relu", "relu6"})
"""Layer types whose zero outputs mean a unit that no longer learns."""


@dataclass(frozen=True)
class NodeHealth:
    """Statistics of one node at one sampled step (None: not measurable for this node)."""

    node_id: str
    name: str
    type_id: str
    mean: float | None = None
    std: float | None = None
    zero_fraction: float | None = None
    grad_norm: float | None = None
    """Norm of the gradients of the node's own parameters (None: it has none that learn)."""
    out_grad_norm: float | None = None
    """Norm of the loss gradient with respect to the node's output."""
    warnings: tuple[str, ...] = ()

    @property
    def level(self) -> str:
        """``warning`` when something is wrong, ``ok`` when measured and fine, else ``none``."""
        if self.warnings:
            return "warning"
        return "ok" if self.mean is not None or self.grad_norm is not None else "none"


@dataclass(frozen=True)
class HealthEvent:
    """Health of every node at a sampled training step."""

    step: int
    epoch: int
    nodes: tuple[NodeHealth, ...]

    @property
    def warnings(self) -> list[str]:
        """Every warning of every node, each naming its node."""
        return [w for node in self.nodes for w in node.warnings]

    def node(self, node_id: str) -> NodeHealth | None:
        """The statistics of one node, if it was measured."""
        return next((n for n in self.nodes if n.node_id == node_id), None)


def node_warnings(
    name: str,
    type_id: str,
    zero_fraction: float | None,
    grad_norm: float | None,
    mean: float | None,
) -> tuple[str, ...]:
    """The problems these statistics show, as sentences naming the node and the value."""
    out: list[str] = []
    if mean is not None and not math.isfinite(mean):
        out.append(f"{name}: its outputs are {mean} (not finite); lower the learning rate")
    if type_id in DEAD_TYPES and zero_fraction is not None and zero_fraction > DEAD_FRACTION:
        out.append(
            f"{name}: {zero_fraction:.0%} of its outputs are zero, the ReLU is mostly dead "
            "(lower the learning rate, check the bias before it, or try LeakyReLU)"
        )
    if grad_norm is not None and not math.isfinite(grad_norm):  # NaN compares false to all
        out.append(
            f"{name}: gradient norm is {grad_norm} (not finite); its weights will be ruined "
            "(lower the learning rate or turn on gradient clipping)"
        )
    elif grad_norm is not None and grad_norm < VANISHING_NORM:
        out.append(f"{name}: gradient norm {grad_norm:.2g} has vanished; its weights barely learn")
    elif grad_norm is not None and grad_norm > EXPLODING_NORM:
        out.append(
            f"{name}: gradient norm {grad_norm:.3g} is exploding "
            "(lower the learning rate or turn on gradient clipping)"
        )
    return tuple(out)
