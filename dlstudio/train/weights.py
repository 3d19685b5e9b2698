"""Loading weights into a model by key and shape (transfer learning), and saving them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from dlstudio.compile.weights import unshared
from dlstudio.core.files import atomic_path
from dlstudio.train.errors import TrainError

_PREFIXES = ("module.", "_orig_mod.")  # added by DataParallel and torch.compile


@dataclass(frozen=True)
class WeightLoadReport:
    """What happened to each key: loaded, left as it was, ignored, or refused for its shape."""

    path: str
    matched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)

    def summary(self) -> str:
        """A few lines for people: counts, then the keys that did not load."""
        lines = [
            f"{self.path}: loaded {len(self.matched)} tensors, {len(self.missing)} missing, "
            f"{len(self.unexpected)} unexpected, {len(self.mismatched)} of another shape"
        ]
        lines += [
            f"  {key}: file has {tuple(got)}, model needs {tuple(want)} (kept the model's)"
            for key, got, want in self.mismatched
        ]
        if self.missing:
            lines.append("  not in the file (kept as initialised): " + ", ".join(self.missing))
        if self.unexpected:
            lines.append(
                "  in the file but not in the model (ignored): " + ", ".join(self.unexpected)
            )
        return "\n".join(lines)


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors from ``.safetensors`` or a ``.pt``/``.pth`` state_dict (``weights_only`` load)."""
    path = Path(path)
    if not path.exists():
        raise TrainError(f"{path}: weights file not found; check the path")
    if not path.is_file():
        raise TrainError(f"{path}: not a file; give a .safetensors or .pt weights file")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path), device="cpu")
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, corrupt or refused (unsafe pickle) files
        first = str(exc).splitlines()[0][:300] if str(exc) else ""
        raise TrainError(
            f"{path}: cannot read weights ({type(exc).__name__}: {first}); use a .safetensors file "
            "or a .pt file saved with torch.save(model.state_dict(), path)"
        ) from None
    if isinstance(data, dict) and isinstance(data.get("model"), dict):
        data = data["model"]  # a DL Studio checkpoint
    elif isinstance(data, dict) and isinstance(data.get("state_dict"), dict):
        data = data["state_dict"]
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in data.items()
    ):
        raise TrainError(
            f"{path}: holds no state_dict (a mapping of names to tensors); save weights with "
            "torch.save(model.state_dict(), path)"
        )
    return data


def load_weights(model: nn.Module, path: str | Path) -> WeightLoadReport:
    """Copy every tensor whose key and shape match into ``model``; report the rest."""
    source = {}
    for key, tensor in read_state_dict(path).items():
        for prefix in _PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix) :]
        source[key] = tensor
    target = model.state_dict()
    matched, mismatched = [], []
    for key, tensor in source.items():
        if key not in target:
            continue
        if tensor.is_complex() != target[key].is_complex() or tensor.is_sparse:
            raise TrainError(
                f"{path}: {key} holds {'sparse' if tensor.is_sparse else tensor.dtype} values, "
                f"which cannot be copied into the model's {target[key].dtype} tensor"
            )
        if tuple(tensor.shape) == tuple(target[key].shape):
            matched.append(key)
        else:
            mismatched.append((key, tuple(tensor.shape), tuple(target[key].shape)))
    try:
        model.load_state_dict({k: source[k] for k in matched}, strict=False)
    except (RuntimeError, TypeError, ValueError) as exc:  # e.g. complex or sparse tensors
        first = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        raise TrainError(f"{path}: the tensors cannot be copied into the model ({first})") from None
    return WeightLoadReport(
        path=str(path),
        matched=matched,
        missing=[k for k in target if k not in source],
        unexpected=[k for k in source if k not in target],
        mismatched=mismatched,
    )


def save_weights(model: nn.Module, path: str | Path) -> Path:
    """Save the state_dict as ``.safetensors`` (or ``.pt`` if the name says so), atomically:
    mode kept, symlinks written through, no temp file left, a full disk said as such."""
    path = Path(path)
    state = unshared(model.state_dict())
    with atomic_path(path) as tmp:
        if path.suffix == ".safetensors":
            from safetensors.torch import save_file

            save_file(state, str(tmp))
        else:
            torch.save(state, tmp)
    return path
