"""Frozen layers: no parameter gets a gradient, no statistic moves.

A frozen node is a submodule tree of the compiled model (``CompiledModel.node_attrs`` names it),
so freezing works the same for a single layer and for a block instance with everything inside
it. Parameters leave the optimizer (``requires_grad`` off); normalization layers with running
statistics (BatchNorm, InstanceNorm with ``track_running_stats``) run in eval mode, as Keras's
``trainable = False`` does, so their buffers stay bit-identical.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from torch import nn
from torch.nn.modules.batchnorm import _NormBase


def frozen_module_names(graph: Any, node_attrs: Mapping[str, str]) -> list[str]:
    """Submodule paths of the nodes whose Trainable box is off, in document order."""
    return [node_attrs[n.id] for n in graph if not n.trainable and n.id in node_attrs]


def frozen_in_module(model: nn.Module) -> list[str]:
    """Submodule paths whose own parameters are all frozen in the module itself: the generated
    code freezes frozen nodes (also those inside block classes) with ``requires_grad_(False)``."""
    names: list[str] = []
    for name, module in model.named_modules():
        own = list(module.parameters(recurse=False))
        inside_frozen = any(name.startswith(f"{done}.") for done in names)
        if name and own and not inside_frozen and not any(p.requires_grad for p in own):
            names.append(name)
    return names


def frozen_submodules(model: nn.Module, names: Iterable[str]) -> list[nn.Module]:
    """The submodules named by ``names`` (dotted paths); names the model lacks are skipped."""
    out = []
    for name in names:
        try:
            out.append(model.get_submodule(name))
        except AttributeError:
            continue  # a node without a module (Input, Add, ...) has nothing to freeze
    return out


def freeze(model: nn.Module, names: Sequence[str]) -> list[nn.Module]:
    """Turn off ``requires_grad`` in every named submodule tree; returns the submodules."""
    modules = frozen_submodules(model, names)
    for module in modules:
        module.requires_grad_(False)
    return modules


def hold_statistics(modules: Iterable[nn.Module]) -> None:
    """Put every normalization layer with running statistics inside ``modules`` in eval mode.

    Call after each ``model.train()``. Dropout and other layers keep the model's mode.
    """
    for module in modules:
        for sub in module.modules():
            if isinstance(sub, _NormBase) and sub.track_running_stats:
                sub.eval()
