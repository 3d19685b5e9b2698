"""Saving and loading weights: the one reader every place weights enter goes through.

Export ``--from``, ``train --init-weights``, the window's Load Weights and Start from weights,
block weights and a project's attached weights all call :func:`load_weights`, so they accept the
same files and raise the same errors. Accepted: ``.safetensors``; a ``.pt``/``.pth`` plain
``state_dict``; one wrapped as ``model_state_dict``, ``state_dict``, ``model`` (our own training
checkpoints), ``model_state`` or ``weights``; keys prefixed by DataParallel (``module.``) or
torch.compile (``_orig_mod.``). Reading never unpickles code (``weights_only=True`` or
safetensors). An unreadable file raises :class:`WeightsFileError`; a readable one that does not
fit as asked raises :class:`WeightsMismatchError` (a kind of it) and loads nothing.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Literal

import torch

from dlstudio.compile.errors import ExportError, WeightsFileError
from dlstudio.compile.weights_report import (
    RESUME_HINT,
    WeightsMismatchError,
    WeightsReport,
    owner,
    tensor_name,
)
from dlstudio.core.files import atomic_path

__all__ = [
    "RESUME_HINT",
    "Fit",
    "WeightsFileError",
    "WeightsMismatchError",
    "WeightsReport",
    "load_weights",
    "match_weights",
    "read_state_dict",
    "save_weights",
    "unshared",
]

WRAPPER_KEYS = ("model_state_dict", "state_dict", "model", "model_state", "weights")
"""Keys under which checkpoints of common trainers (and ours: ``model``) nest the weights."""
WRAPPER_PREFIXES = ("module.", "_orig_mod.")
"""Added in front of every key by DataParallel / DistributedDataParallel and by torch.compile."""
Fit = Literal["some", "all"]
"""``some``: load what fits, refuse a file of which nothing fits; ``all``: refuse unless every
tensor of the file and of the model fits."""


def unshared(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """CPU copies for saving; a tensor that two names share (a tied weight) is written under
    each name, since safetensors refuses shared memory. Loading ties them again."""
    seen: set[int] = set()
    out = {}
    for key, value in state.items():
        tensor = value.detach().cpu().contiguous()
        pointer = tensor.data_ptr()
        out[key] = tensor.clone() if pointer in seen and tensor.numel() else tensor
        seen.add(pointer)
    return out


def save_weights(module: torch.nn.Module, path: str | Path) -> Path:
    """Write ``module.state_dict()`` as ``.safetensors`` or ``.pt`` (chosen by the suffix),
    atomically (:func:`dlstudio.core.files.atomic_path`: mode kept, symlinks written through,
    no temp file left); a full disk raises :class:`~dlstudio.core.errors.DiskFullError`."""
    path = Path(path)
    if path.suffix not in (".safetensors", ".pt", ".pth"):
        raise ExportError(
            f"cannot tell the weights format of {path.name}: use a .safetensors or .pt name"
        )
    state = unshared(module.state_dict())
    with atomic_path(path) as tmp:
        if path.suffix == ".safetensors":
            from safetensors.torch import save_file

            save_file(state, str(tmp))
        else:
            torch.save(state, tmp)
    return path


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors in a weights file or a checkpoint (wrappers removed, keys as stored), loaded
    without unpickling code; anything else raises :class:`WeightsFileError`."""
    path = Path(path)
    if not path.exists():
        raise WeightsFileError(f"weights file {path} does not exist; check the path")
    if not path.is_file():
        raise WeightsFileError(f"{path} is not a file; give a .safetensors or .pt weights file")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            data: Any = load_file(str(path), device="cpu")
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # protocol notices; refusals still raise
                data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, corrupt or refused (unsafe pickle) files
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise WeightsFileError(
            f"{path} is not a weights file DL Studio can read safely ({type(exc).__name__}: "
            f"{first[:300]}); use a .safetensors file or one saved with "
            "torch.save(model.state_dict(), path)"
        ) from None
    for _ in range(2):  # e.g. {"state_dict": {...}} or {"model": {"state_dict": {...}}}
        if not isinstance(data, dict) or _is_state_dict(data):
            break
        inner = next((data[k] for k in WRAPPER_KEYS if isinstance(data.get(k), dict)), None)
        if inner is None:
            break
        data = inner
    if not isinstance(data, dict) or not _is_state_dict(data):
        raise WeightsFileError(
            f"{path} holds no state_dict (a mapping of text names to tensors, plain or under "
            f"one of {', '.join(WRAPPER_KEYS)}); save weights with "
            "torch.save(model.state_dict(), path)"
        )
    return data


def _is_state_dict(data: dict[Any, Any]) -> bool:
    return all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in data.items())


def _own_key(key: str, target: dict[str, torch.Tensor]) -> str:
    """``key`` without wrapper prefixes, unless the model itself has the prefixed name."""
    while key not in target and key.startswith(WRAPPER_PREFIXES):
        key = key.split(".", 1)[1]
    return key


def match_weights(
    module: torch.nn.Module, source: dict[str, torch.Tensor], path: str | Path
) -> tuple[WeightsReport, dict[str, torch.Tensor]]:
    """Compare ``source`` with ``module.state_dict()`` by key and shape (nothing is loaded):
    the report and the tensors that fit, under the model's keys."""
    target = module.state_dict()
    renamed = {_own_key(key, target): tensor for key, tensor in source.items()}
    fitting: dict[str, torch.Tensor] = {}
    mismatched = []
    for key, tensor in renamed.items():
        if key not in target:
            continue
        if tensor.is_complex() != target[key].is_complex() or tensor.is_sparse:
            raise WeightsFileError(
                f"{path}: {key} holds {'sparse' if tensor.is_sparse else tensor.dtype} values, "
                f"which cannot be copied into the model's {target[key].dtype} "
                f"{tensor_name(key)} of {owner(key)}"
            )
        if tuple(tensor.shape) == tuple(target[key].shape):
            fitting[key] = tensor
        else:
            mismatched.append((key, tuple(tensor.shape), tuple(target[key].shape)))
    report = WeightsReport(
        path=str(path),
        loaded=list(fitting),
        missing=[k for k in target if k not in renamed],
        unexpected=[k for k in renamed if k not in target],
        mismatched=mismatched,
    )
    return report, fitting


def load_weights(module: torch.nn.Module, path: str | Path, fit: Fit = "some") -> WeightsReport:
    """Copy the tensors of ``path`` that match ``module`` by key and shape into it and report
    the rest by module path.

    Raises :class:`WeightsFileError` for a file that cannot be read, and
    :class:`WeightsMismatchError` (loading nothing) when no tensor fits, or with ``fit="all"``
    when any tensor is missing, unexpected or of another shape.
    """
    source = read_state_dict(path)
    report, fitting = match_weights(module, source, path)
    target = module.state_dict()
    if target and not fitting:
        file_keys = ", ".join(list(source)[:4]) + (", ..." if len(source) > 4 else "")
        model_keys = ", ".join(list(target)[:4]) + (", ..." if len(target) > 4 else "")
        details = "".join(f"\n  {line}" for line in report.messages()[:8])
        raise WeightsMismatchError(
            f"{path}: none of its {len(source)} tensors matches the model by name and shape "
            f"(file: {file_keys or 'no tensors'}; model: {model_keys}).{details}\nUse weights "
            f"saved from a model with the same layer names, or rename the layers; {RESUME_HINT}",
            report,
        )
    if fit == "all" and not report.ok:
        raise WeightsMismatchError(
            f"{path}: the weights do not fit the model exactly, nothing was loaded.\n"
            f"{report.summary()}",
            report,
        )
    try:
        module.load_state_dict(fitting, strict=False)
    except (RuntimeError, TypeError, ValueError) as exc:  # e.g. dtypes that cannot be cast
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise WeightsFileError(
            f"{path}: the tensors cannot be copied into the model ({first[:300]})"
        ) from None
    return report
