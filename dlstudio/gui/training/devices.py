"""What the device list offers: only devices that exist, each with a readable description."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DeviceChoice:
    """One entry of the device list: the ``TrainConfig.device`` value and its label."""

    value: str
    label: str
    detail: str = ""
    enabled: bool = True


def available_devices() -> list[DeviceChoice]:
    """Auto, then every CUDA GPU (name and memory), Apple's MPS, and the CPU."""
    choices: list[DeviceChoice] = []
    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    best = "CUDA GPU" if cuda else ("Apple GPU (MPS)" if mps else "CPU")
    choices.append(DeviceChoice("auto", f"Auto ({best})", "the fastest device available"))
    if cuda:
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            memory = props.total_memory / 2**30
            detail = (
                f"{props.name}, {memory:.0f} GiB, compute capability {props.major}.{props.minor}"
            )
            # TrainConfig names one CUDA device ("cuda" = the current one): list the others for
            # information only, so what is shown is never something that cannot be chosen.
            choices.append(
                DeviceChoice(
                    "cuda", f"CUDA {index}: {props.name} ({memory:.0f} GiB)", detail, index == 0
                )
            )
    if mps:
        choices.append(DeviceChoice("mps", "Apple GPU (MPS)", "Metal Performance Shaders"))
    cores = os.cpu_count() or 1
    choices.append(DeviceChoice("cpu", f"CPU ({cores} logical cores)", "always available"))
    # Data parallel (torchrun): N worker processes, each with its share of the global batch.
    if cuda and torch.cuda.device_count() > 1:
        count = torch.cuda.device_count()
        choices.append(
            DeviceChoice(
                f"cuda*{count}", f"{count} processes (one per GPU)", "DDP over NCCL, torchrun"
            )
        )
    if cores >= 2:
        choices.append(
            DeviceChoice("cpu*2", "2 processes (CPU)", "DDP over gloo on this machine, torchrun")
        )
    return choices


def split_device(value: str) -> tuple[str, int]:
    """``"cpu*2"`` -> ``("cpu", 2)``; ``"cuda"`` -> ``("cuda", 1)``."""
    device, _sep, count = value.partition("*")
    return device, int(count) if count.isdigit() else 1
