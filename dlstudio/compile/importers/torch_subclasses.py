"""Subclasses of torch layers that override ``forward`` (timm's ``BatchNormAct2d``,
``Conv2dSame``, ``Linear``, ``LayerNorm2d``): imported as the layer they extend plus what their
``forward`` adds around it.

A subclass may do anything in ``forward``, so it is traced through, not mapped whole. Its
``forward`` reaches the functional call of its base class on its own parameters
(``F.batch_norm(x, self.running_mean, ...)``); when that call's arguments are the ones the base
class would pass, it becomes a call of a *stand-in*: a plain instance of the base class sharing
the subclass's parameters, under the subclass's own module path, so its ``state_dict`` keys are
the source's (``bn1.weight``). Whatever else ``forward`` does (timm's activation after the
normalisation, the padding before a "same" convolution) becomes layers of the parent module,
named after the subclass (``bn1_act``), because the subclass itself is now one layer.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
import torch.fx as fx
from torch import nn

from dlstudio.compile.importers.torch_modules import MODULE_MAPPERS, module_mapper

aten = torch.ops.aten

BASES: tuple[type[nn.Module], ...] = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.Conv1d,
    nn.Conv2d,
    nn.Linear,
    nn.LayerNorm,
    nn.GroupNorm,
)
"""Layers whose subclasses are imported through their base class's functional call."""


def base_class(module: nn.Module) -> type[nn.Module] | None:
    """The catalogue layer class ``module`` extends, when its own class has no mapper."""
    cls = type(module)
    if cls in MODULE_MAPPERS or module_mapper(module) is not None:
        return None
    for base in cls.__mro__[1:]:
        if base in BASES:
            return base
    return None


def stand_in(module: nn.Module, base: type[nn.Module]) -> nn.Module:
    """A ``base`` instance with ``module``'s settings and the very same parameters and
    buffers, without its children and hooks."""
    new = base.__new__(base)
    new.__dict__.update(module.__dict__)
    new._parameters = dict(module._parameters)
    new._buffers = dict(module._buffers)
    new._modules = {}
    for key, value in list(new.__dict__.items()):
        if key.endswith("hooks") and isinstance(value, dict):
            new.__dict__[key] = OrderedDict()
    return new


def base_call(node: fx.Node, path: str, module: nn.Module, owner: dict[str, str]) -> bool:
    """Whether ATen ``node`` is what ``base_class(module).forward`` computes, on ``module``'s
    own parameters (``owner``: graph input name -> ``state_dict`` key)."""
    args = list(node.args)

    def arg(index: int, default: Any = None) -> Any:
        return args[index] if index < len(args) else default

    def own(value: Any, name: str) -> bool:
        tensor = getattr(module, name, None)
        if tensor is None:
            return value is None
        return isinstance(value, fx.Node) and owner.get(value.name) == f"{path}.{name}"

    target = node.target
    if node.kwargs:
        return False
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return (
            target is aten.batch_norm.default
            and module.track_running_stats
            and all(
                own(arg(i), n)
                for i, n in enumerate(("weight", "bias", "running_mean", "running_var"), 1)
            )
            and arg(5) is False
            and _same(arg(7), module.eps)
        )
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        rank = 1 if isinstance(module, nn.Conv1d) else 2
        op = aten.conv1d.default if rank == 1 else aten.conv2d.default
        return (
            target is op
            and module.padding_mode == "zeros"
            and not isinstance(module.padding, str)
            and own(arg(1), "weight")
            and own(arg(2), "bias")
            and _tuple(arg(3, 1), rank) == tuple(module.stride)
            and _tuple(arg(4, 0), rank) == tuple(module.padding)
            and _tuple(arg(5, 1), rank) == tuple(module.dilation)
            and arg(6, 1) == module.groups
        )
    if isinstance(module, nn.Linear):
        return target is aten.linear.default and own(arg(1), "weight") and own(arg(2), "bias")
    if isinstance(module, nn.LayerNorm):
        return (
            target is aten.layer_norm.default
            and tuple(arg(1) or ()) == tuple(module.normalized_shape)
            and own(arg(2), "weight")
            and own(arg(3), "bias")
            and _same(arg(4, 1e-5), module.eps)
        )
    if isinstance(module, nn.GroupNorm):
        return (
            target is aten.group_norm.default
            and arg(1) == module.num_groups
            and own(arg(2), "weight")
            and own(arg(3), "bias")
            and _same(arg(4, 1e-5), module.eps)
        )
    return False


def outside_subclasses(stack: dict, subclasses: dict[str, nn.Module]) -> dict:
    """A module stack without the ``subclasses`` imported as their base class and what is
    inside them: each is one layer now, and what its forward adds is its parent's."""
    kept = {}
    for key, (path, cls) in stack.items():
        if any(path == p or path.startswith(p + ".") for p in subclasses):
            break
        kept[key] = (path, cls)
    return kept


def leaf_target(path: str, subclasses: dict[str, nn.Module]) -> str:
    """A leaf module's call target: its path, but a child of one of the ``subclasses`` is
    its parent's (``layer1.0.bn1.act`` -> ``layer1.0.bn1_act``)."""
    for outer in subclasses:
        if path.startswith(outer + "."):
            return outer + "_" + path[len(outer) + 1 :].replace(".", "_")
    return path


def _tuple(value: Any, rank: int) -> tuple[int, ...]:
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    return items * rank if len(items) == 1 else items


def _same(a: Any, b: Any) -> bool:
    return isinstance(a, (int, float)) and abs(float(a) - float(b)) <= 1e-12 * max(1.0, abs(b))
