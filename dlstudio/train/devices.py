"""Picking the device, mixed precision and CPU threads."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dlstudio.train.data.base import DataSplit
from dlstudio.train.errors import TrainError
from dlstudio.train.threads import choose_threads


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU; asking for a missing one says so clearly."""
    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            built = torch.version.cuda is not None
            why = (
                "no CUDA GPU is visible (check the driver with nvidia-smi)"
                if built
                else "this PyTorch build has no CUDA support (install a CUDA build of torch)"
            )
            raise TrainError(f"device cuda was asked for but {why}; choose auto or cpu")
        return torch.device(name)
    if name == "mps":
        if not _mps_available():
            raise TrainError(
                "device mps was asked for but Apple Metal is not available; choose auto or cpu"
            )
        return torch.device("mps")
    if name == "cpu":
        return torch.device("cpu")
    raise TrainError(f"unknown device {name!r}; choose auto, cpu, cuda or mps")


def configure_cpu_threads(requested: int = 0) -> int:
    """Set torch's CPU threads for a run (see :mod:`dlstudio.train.threads`); returns the count."""
    return choose_threads(requested)


@dataclass(frozen=True)
class Precision:
    """How the forward pass runs: autocast dtype (None: full float32) and whether to scale loss."""

    autocast_dtype: torch.dtype | None
    use_scaler: bool

    @property
    def label(self) -> str:
        """``bf16``, ``fp16`` or ``fp32``, for logs."""
        if self.autocast_dtype is None:
            return "fp32"
        return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(self.autocast_dtype, "fp32")


def choose_precision(device: torch.device, setting: str = "auto") -> Precision:
    """Mixed precision on CUDA only: bf16 where the GPU supports it (no scaler needed), else fp16
    with a GradScaler; float32 elsewhere or when ``setting`` is ``off``."""
    if device.type != "cuda" or setting == "off":
        return Precision(None, False)
    bf16_ok = torch.cuda.is_bf16_supported()
    if setting == "bf16" or (setting == "auto" and bf16_ok):
        if not bf16_ok:
            raise TrainError("mixed_precision bf16 was asked for but this GPU lacks bf16; use fp16")
        return Precision(torch.bfloat16, False)
    return Precision(torch.float16, True)


def place_split(split: DataSplit, device: torch.device) -> DataSplit:
    """Move a split to the device once if it fits comfortably (a quarter of free GPU memory);
    otherwise pin it in host memory so each batch copies asynchronously."""
    if device.type == "cpu":
        return split
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        if split.nbytes() < 0.25 * free:
            return split.to(device)
        return DataSplit(tuple(x.pin_memory() for x in split.inputs), split.target.pin_memory())
    return split.to(device)
