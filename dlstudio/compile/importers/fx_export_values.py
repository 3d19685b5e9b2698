"""Helpers of the torch.export rewrite (:mod:`.fx_export`): matching recorded values to the
capture's, module stacks as torch.fx records them, folding constants."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import torch
import torch.fx as fx
from torch import nn

from dlstudio.compile.importers.torch_helpers import helper_name


def takes_one_tensor(module: nn.Module) -> bool:
    # Modules whose forward takes more than the input tensor, or returns a tuple, need the
    # recorded call: attention (query, key, value, masks), recurrent layers (hx).
    return (
        not isinstance(
            module,
            (
                nn.MultiheadAttention,
                nn.RNNBase,
                nn.TransformerEncoderLayer,
                nn.TransformerDecoderLayer,
            ),
        )
        and helper_name(module) is None
    )


def distance(a: Any, b: Any) -> float:
    """Largest difference of two tensors; infinite when they cannot be the same value."""
    if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
        return float("inf")
    if a.shape != b.shape or a.dtype != b.dtype:
        return float("inf")
    if not a.numel():
        return 0.0
    if not a.is_floating_point():
        return 0.0 if torch.equal(a, b) else float("inf")
    return float((a.double() - b.double()).abs().max())


def close(a: Any, b: Any) -> bool:
    """The same value, allowing for rounding: the eager run may take a fused kernel (the
    transformer layers' fast path in eval) where the capture took the plain operations."""
    gap = distance(a, b)
    if gap == float("inf"):
        return False
    scale = float(b.abs().max()) if b.is_floating_point() and b.numel() else 0.0
    return gap <= 1e-4 * scale + 1e-6


def positions(structure: Any, value: Any) -> list[tuple[int, ...]]:
    """Every index path in ``structure`` holding a tensor equal to ``value``."""
    if isinstance(structure, torch.Tensor):
        return [()] if close(value, structure) else []
    if isinstance(structure, (tuple, list)):
        return [(i, *p) for i, item in enumerate(structure) for p in positions(item, value)]
    return []


def at(structure: Any, position: tuple[int, ...]) -> Any:
    for index in position:
        structure = structure[index]
    return structure


def tensors_in(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in tensors_in(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in tensors_in(v)]
    return []


def module_stack(stack: dict) -> dict:
    """The module stack with class names only (``BasicBlock``), as torch.fx records it."""
    return {
        key: (path, _ClassName(str(cls).rsplit(".", 1)[-1] if isinstance(cls, str) else cls))
        for key, (path, cls) in stack.items()
    }


class _ClassName:
    """Stands for a class in a module stack: only its ``__name__`` is read."""

    def __init__(self, cls: Any) -> None:
        self.__name__ = cls if isinstance(cls, str) else getattr(cls, "__name__", str(cls))


def map_args(value: Any, lookup) -> Any:
    if isinstance(value, fx.Node):
        return lookup(value)
    if isinstance(value, (tuple, list)):
        return type(value)(map_args(v, lookup) for v in value)
    if isinstance(value, dict):
        return {k: map_args(v, lookup) for k, v in value.items()}
    return value


def named_tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    """Parameters and buffers by every name they have (a tied weight under each of its keys)."""
    named: dict[str, torch.Tensor] = dict(model.named_parameters(remove_duplicate=False))
    named.update(model.named_buffers(remove_duplicate=False))
    return named


def fold_batch(value: torch.Tensor) -> torch.Tensor:
    """A constant with a row per example of the capture's batch, all the same (token type ids
    expanded to the batch), kept as one row that broadcasts over any batch."""
    from dlstudio.compile.importers.fx_trace import TRACE_BATCH

    if value.dim() >= 1 and value.shape[0] == TRACE_BATCH and bool((value == value[:1]).all()):
        return value[:1].clone()
    return value


def position_rows(weight: torch.Tensor, steps: int) -> torch.Tensor:
    """``embedding(arange(steps))`` as (1, steps, E): a position table read in order."""
    return weight[:steps].unsqueeze(0)


def is_positions(ids: Any) -> bool:
    """True for token positions 0, 1, ..., T - 1 (one row, or the same row for every example)."""
    if not isinstance(ids, torch.Tensor) or ids.dtype not in (torch.int64, torch.int32):
        return False
    if ids.dim() == 1:
        ids = ids.unsqueeze(0)
    if ids.dim() != 2:
        return False
    steps = torch.arange(ids.shape[-1], dtype=ids.dtype)
    return bool((ids == steps).all())


def export_failure(model: nn.Module, exc: BaseException) -> str:
    """Why ``torch.export`` failed, in its own words, with the module path when it says one."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    first = lines[0] if lines else type(exc).__name__
    if len(first) > 300:
        first = first[:300] + "..."
    where = ""
    for line in lines:
        if 'File "' in line and "site-packages/torch/" not in line:
            where = f" (at {line.split('File ', 1)[1]})"
            break
    return f"torch.export could not capture {type(model).__name__}: {type(exc).__name__}: {first}{where}"


def record_calls(
    model: nn.Module, leaves: dict[str, nn.Module], examples: list[torch.Tensor]
) -> dict[tuple[str, int], tuple[tuple, dict, Any]]:
    """(path, call index) -> (args, kwargs, output) of every call of the ``leaves`` modules,
    from one eager run of ``model`` with hooks."""
    calls: dict[tuple[str, int], tuple[tuple, dict, Any]] = {}
    counts: dict[str, int] = defaultdict(int)
    handles = []
    for path, module in leaves.items():

        def pre(_m, args, kwargs, path=path):
            calls[(path, counts[path])] = (args, kwargs, None)

        def post(_m, args, kwargs, output, path=path):
            key = (path, counts[path])
            calls[key] = (calls[key][0], calls[key][1], output)
            counts[path] += 1

        handles.append(module.register_forward_pre_hook(pre, with_kwargs=True))
        handles.append(module.register_forward_hook(post, with_kwargs=True))
    try:
        with torch.no_grad():
            model(*examples)
    finally:
        for handle in handles:
            handle.remove()
    return calls


def exported_values(program, model: nn.Module, examples: list[torch.Tensor]) -> dict:
    """Every node of ``program``'s graph on the example inputs."""
    state = named_tensors(model)
    feeds = []
    user = iter(examples)
    for spec in program.graph_signature.input_specs:
        if spec.kind.name in ("PARAMETER", "BUFFER"):
            feeds.append(state[spec.target])
        elif spec.kind.name == "CONSTANT_TENSOR":
            feeds.append(program.constants[spec.target])
        else:
            feeds.append(next(user))
    values: dict[fx.Node, Any] = {}

    class _Keep(fx.Interpreter):
        def run_node(self, n: fx.Node) -> Any:
            value = super().run_node(n)
            values[n] = value
            return value

    with torch.no_grad():
        _Keep(program.graph_module).run(*feeds)
    return values
