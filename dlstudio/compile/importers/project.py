"""An import, finished: the compiled module with the imported weights, and the project file with
its weights file beside it."""

from __future__ import annotations

from pathlib import Path

import torch

from dlstudio.compile.build import CompiledModel, compile_graph
from dlstudio.compile.codegen.names import NameAllocator, class_name
from dlstudio.compile.emitters import HELPERS
from dlstudio.compile.importers.errors import ImportFailed
from dlstudio.compile.importers.report import ImportResult
from dlstudio.compile.project_weights import WEIGHTS_KEY
from dlstudio.core.files import atomic_path
from dlstudio.core.serialization import save_project
from dlstudio.layers import get_layer_type


def compile_import(result: ImportResult) -> CompiledModel:
    """Compile the imported graph and load the imported weights into it (every key checked)."""
    compiled = compile_graph(result.graph)
    if result.keyed_weights is not None:
        try:
            compiled.module.load_state_dict(result.keyed_weights, strict=True)
        except RuntimeError as exc:
            raise ImportFailed(f"the imported weights do not fit the model: {exc}") from exc
        return compiled
    attrs = compiled.node_attrs
    for node_id, tensors in result.weights.items():
        sub = getattr(compiled.module, attrs[node_id])
        if isinstance(sub, torch.nn.Parameter):  # a Parameter node: the tensor itself
            value = tensors[""]
            if tuple(value.shape) != tuple(sub.shape):
                name = result.graph.node(node_id).name
                raise ImportFailed(
                    f"{name}: the imported value has shape {tuple(value.shape)}, the "
                    f"Parameter {tuple(sub.shape)}"
                )
            with torch.no_grad():
                sub.copy_(value)
            continue
        try:
            sub.load_state_dict(tensors, strict=True)
        except RuntimeError as exc:
            name = result.graph.node(node_id).name
            raise ImportFailed(f"{name}: the imported weights do not fit: {exc}") from exc
    return compiled


def state_dict_of(result: ImportResult) -> dict[str, torch.Tensor]:
    """The imported weights under the keys the compiled model will have.

    Works for graphs that do not compile yet (placeholders): the keys come from the same
    naming the code generator uses, so they load once the placeholders are replaced."""
    if result.keyed_weights is not None:
        return {k: v.detach().cpu().contiguous() for k, v in result.keyed_weights.items()}
    attrs = _attrs(result)
    state = {}
    for node_id, tensors in result.weights.items():
        for key, tensor in tensors.items():
            # A Parameter node's tensor (key "") is the attribute itself.
            name = f"{attrs[node_id]}.{key}" if key else attrs[node_id]
            state[name] = tensor.detach().cpu().contiguous()
    return state


def count_values(state: dict[str, torch.Tensor]) -> int:
    """The numbers in ``state``, a tensor shared under two keys (a tied weight: GPT-2's
    ``lm_head.weight`` is ``transformer.wte.weight``) counted once, as ``parameters()`` does."""
    seen: set[tuple[int, tuple[int, ...], tuple[int, ...]]] = set()
    total = 0
    for tensor in state.values():
        key = (tensor.data_ptr(), tuple(tensor.shape), tuple(tensor.stride()))
        if key not in seen:
            seen.add(key)
            total += tensor.numel()
    return total


def _attrs(result: ImportResult) -> dict[str, str]:
    graph = result.graph
    model = class_name(graph.name)
    if model in HELPERS or f"{model}Config" in HELPERS:
        model = f"{model}Model"
    allocator = NameAllocator({model, f"{model}Config", *HELPERS})
    return {
        node.id: allocator.allocate(
            node.name, get_layer_type(node.type_id).prefix, node.type_id not in ("input", "output")
        )
        for node in graph
    }


def write_import(result: ImportResult, project_path: str | Path) -> Path | None:
    """Save the project and, when there are weights, ``<name>.safetensors`` beside it (named
    in ``metadata["weights"]``); returns the weights path."""
    project_path = Path(project_path)
    weights_path = None
    if result.weights or result.keyed_weights:
        from safetensors.torch import save_file

        weights_path = project_path.with_suffix(".safetensors")
        state = state_dict_of(result)
        with atomic_path(weights_path) as tmp:
            save_file({k: v.clone() for k, v in state.items()}, str(tmp))
        result.graph.metadata[WEIGHTS_KEY] = weights_path.name
    save_project(result.graph, project_path)
    return weights_path
