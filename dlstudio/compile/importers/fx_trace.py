"""Tracing a module with ``torch.fx`` and running it once on an example input on the meta
device: the concrete inputs and output of every call, for the importer's walk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.fx as fx
from torch import nn

from dlstudio.compile.importers.errors import ImportFailed
from dlstudio.compile.importers.torch_helpers import helper_name
from dlstudio.compile.importers.torch_modules import CONTAINERS, module_mapper
from dlstudio.compile.importers.verify import MASK_ROLE, padding_mask
from dlstudio.core.tensor_spec import Dim

TRACE_BATCH = 2
"""Batch size of the example run (not 1, so a size equal to the batch is told apart less
often by accident)."""


@dataclass(frozen=True)
class InputSpec:
    """One model input: shape without the batch (ints, or symbols such as ``"T"``), dtype, the
    example length for symbols and, for token ids, the vocabulary size."""

    shape: tuple[Dim, ...]
    dtype: str = "float32"
    seq_len: int = 16
    vocab_size: int = 0
    name: str | None = None
    role: str = ""
    """:data:`MASK_ROLE` for a padding mask (1 at real tokens, 0 at padding): its examples
    are padded rows, not random ids."""
    pad_id: int | None = None
    """Token ids: the padding id, written where the examples' padding mask is 0 (as a
    tokenizer pads), so a model that finds padding by its id sees some."""


SHAPE_PRESERVING = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.LayerNorm,
    nn.Dropout,
    nn.Dropout2d,
    nn.ReLU,
    nn.ReLU6,
    nn.SiLU,
    nn.GELU,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Tanh,
    nn.Sigmoid,
    nn.Identity,
    nn.LeakyReLU,
)
"""Modules whose output has their input's shape and dtype (the example run skips them)."""


class _Tracer(fx.Tracer):
    """Keeps known modules whole; traces through containers and user modules."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if helper_name(m) is not None or module_mapper(m) is not None:
            return True
        if isinstance(m, CONTAINERS):
            return False
        # An unknown torch.nn module stays whole too: it becomes one placeholder, by name.
        return type(m).__module__.startswith("torch.nn")


class Recorder(fx.Interpreter):
    """Runs the traced module and keeps every node's value."""

    def __init__(self, module: fx.GraphModule, meta: bool) -> None:
        super().__init__(module)
        self.values: dict[fx.Node, Any] = {}
        self.meta = meta

    def fetch_attr(self, target: str) -> Any:
        value = super().fetch_attr(target)
        return _on_meta(value) if self.meta else value

    def call_module(self, target, args, kwargs) -> Any:
        if not self.meta:
            return super().call_module(target, args, kwargs)
        module = self.module.get_submodule(target)
        if type(module) in SHAPE_PRESERVING and len(args) == 1 and not kwargs:
            return torch.empty_like(args[0])  # same shape and dtype; skip the decompositions
        tensors = {k: _on_meta(v) for k, v in module.state_dict(keep_vars=True).items()}
        return torch.func.functional_call(module, tensors, tuple(args), dict(kwargs))

    def run_node(self, n: fx.Node) -> Any:
        value = super().run_node(n)
        self.values[n] = value
        return value


def _on_meta(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.device.type != "meta":
        return torch.empty_like(value, device="meta")
    return value


def trace(model: nn.Module) -> fx.GraphModule:
    """The fx graph of ``model``, or :class:`ImportFailed` saying what stopped the trace."""
    tracer = _Tracer()
    try:
        graph = tracer.trace(model)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImportFailed(
            f"torch.fx could not trace {type(model).__name__}: {first}. Models whose forward() "
            "branches on tensor values cannot be traced; make the branch depend on settings only"
        ) from exc
    return fx.GraphModule(tracer.root, graph, type(model).__name__)


def example_inputs(model: nn.Module, inputs: list[InputSpec]) -> list[torch.Tensor]:
    """Random inputs of the given specs, batch :data:`TRACE_BATCH` (seeded: same every time)."""
    generator = torch.Generator().manual_seed(0)
    tensors = []
    for spec in inputs:
        shape = [TRACE_BATCH] + [d if isinstance(d, int) else spec.seq_len for d in spec.shape]
        if spec.role == MASK_ROLE:
            tensors.append(torch.from_numpy(padding_mask(shape[0], shape[1])))
        elif spec.dtype == "int64":
            vocab = spec.vocab_size or smallest_vocabulary(model)
            ids = torch.randint(0, vocab, shape, generator=generator)
            if spec.pad_id is not None and len(shape) == 2:
                ids[torch.from_numpy(padding_mask(shape[0], shape[1])) == 0] = spec.pad_id
            tensors.append(ids)
        else:
            tensors.append(torch.randn(shape, generator=generator))
    return tensors


def smallest_vocabulary(model: nn.Module) -> int:
    sizes = [m.num_embeddings for m in model.modules() if isinstance(m, nn.Embedding)]
    return min(sizes) if sizes else 2
