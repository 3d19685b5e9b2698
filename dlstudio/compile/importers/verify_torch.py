"""Proving a PyTorch import (:mod:`.verify`): the compiled project, with the imported weights, and
the source module run on the same inputs; when they disagree, forward hooks on both sides find
the first submodule (by module path, which the import keeps) whose output departs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from dlstudio.compile.importers.report import ImportResult
from dlstudio.compile.importers.verify import (
    BATCHES,
    ExampleSpec,
    Runner,
    Verification,
    compare,
    describe,
    example_sets,
    first_departure,
)

CHECK_KEY = "import_check"
"""The project's metadata key holding :meth:`Verification.metadata`."""


def flat_tensors(value: Any) -> list[torch.Tensor]:
    """Every tensor in a model's output, in order: tuples, lists, dicts and Hugging Face's
    ``ModelOutput`` (a dict) are walked; ``None`` and other values are skipped."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in flat_tensors(v)]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in flat_tensors(v)]
    return []


def _tensors(arrays: Sequence[np.ndarray]) -> list[torch.Tensor]:
    return [torch.from_numpy(np.ascontiguousarray(a)) for a in arrays]


def torch_runner(module: nn.Module) -> Runner:
    """A :data:`.verify.Runner` for ``module`` (in eval mode, without gradients)."""

    def run(arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
        with torch.no_grad():
            out = module(*_tensors(arrays))
        return [t.detach().cpu().numpy() for t in flat_tensors(out)]

    return run


def module_values(module: nn.Module, arrays: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """Module path -> the first tensor of its output on its first call, in the order the calls
    finished (a submodule before the module that contains it)."""
    values: dict[str, np.ndarray] = {}
    handles = []

    def hook(path: str):
        def record(_module, _args, output) -> None:
            tensors = flat_tensors(output)
            if path not in values and tensors:
                values[path] = tensors[0].detach().cpu().numpy()

        return record

    for path, sub in module.named_modules():
        if path:
            handles.append(sub.register_forward_hook(hook(path)))
    try:
        with torch.no_grad():
            module(*_tensors(arrays))
    except Exception:
        pass  # the outputs already compared say what failed; keep what was recorded
    finally:
        for handle in handles:
            handle.remove()
    return values


def unused_modules(source: nn.Module, result: ImportResult) -> dict[str, int]:
    """The highest submodules of ``source`` none of whose weights are in the import (the
    ``state_dict`` keys compared, renamed module names mapped) -> their number of values."""
    from dlstudio.compile.importers.project import state_dict_of

    imported = set(state_dict_of(result))
    missing: dict[str, int] = {}
    present: set[str] = set()
    for key, tensor in source.state_dict().items():
        parts = key.split(".")
        renamed = result.renamed_paths
        mapped = ".".join(renamed.get(".".join(parts[: i + 1]), p) for i, p in enumerate(parts))
        owners = [".".join(parts[:i]) for i in range(1, len(parts))]
        if mapped in imported:
            present.update(owners)
        else:
            missing[key] = tensor.numel()
    found: dict[str, int] = {}
    for key, count in missing.items():
        parts = key.split(".")
        owner = next(
            (
                ".".join(parts[:i])
                for i in range(1, len(parts))
                if ".".join(parts[:i]) not in present
            ),
            key,
        )
        found[owner] = found.get(owner, 0) + count
    return found


def verify_import(
    source: nn.Module,
    result: ImportResult,
    specs: Sequence[ExampleSpec],
    batches: Sequence[int] = BATCHES,
) -> Verification:
    """Compile ``result`` with its weights and compare it with ``source`` (see :mod:`.verify`).
    A project that does not compile or load its weights is a failed check with the reason."""
    from dlstudio.compile.importers.project import compile_import

    sets = example_sets(specs, batches)
    if not result.ok:
        return Verification(
            sets=[s.label for s in sets],
            error=f"{len(result.issues)} operation(s) are placeholders; the project cannot run",
        )
    try:
        compiled = compile_import(result)
    except Exception as exc:
        return Verification(
            sets=[s.label for s in sets], error=f"the project does not compile: {describe(exc)}"
        )
    built = compiled.module.eval()
    source.eval()
    check = compare(torch_runner(source), torch_runner(built), sets, compiled.output_names)
    if not check.ok:
        want = module_values(source, sets[0].arrays)
        got = module_values(built, sets[0].arrays)
        if result.keyed_weights is None:  # a flat import: nodes are named layer1_0_conv1
            want = {path.replace(".", "_").replace("-", "_"): v for path, v in want.items()}
        check.first_departure, check.departure_detail = first_departure(want, got)
    return check
