"""Does loading keep up with training? Run on demand (a minute or two):

    .venv/bin/python benchmarks/bench_data_loading.py [--images 600] [--workers 2]

1. Decoding an image folder (JPEG photos, resized once when the data set loads): one process
   against ``--workers`` spawned processes (``dlstudio.train.image_decode``).
2. One training batch of an in-memory image data set: drawing and augmenting it (random
   resized crop + flip, ``dlstudio.train.data.augment``) against the training step of a small
   CNN on the same batch, both on the CPU with one thread, so the share of the step spent on the
   data shows whether a DataLoader's worker processes would pay.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from PIL import Image

# torch is imported inside the functions that use it: spawned decoders import this main module
# again, and the program's own main module does not import torch either.
from dlstudio.train.image_decode import decode_all


def make_photos(folder: Path, count: int, side: int = 320) -> list[Path]:
    """``count`` noisy JPEG photos of ``side`` x ``side`` pixels in two class folders."""
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        cls = folder / ("a" if i % 2 else "b")
        cls.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, size=(side, side, 3), dtype=np.uint8)
        path = cls / f"{i}.jpg"
        Image.fromarray(pixels).save(path, quality=90)
        paths.append(path)
    return paths


def time_decode(paths: list[Path], size: int, workers: int) -> float:
    start = time.perf_counter()
    decode_all(paths, size, workers)
    return time.perf_counter() - start


def time_batches(size: int, batch: int, repeats: int = 10) -> tuple[float, float]:
    """Median milliseconds of (draw + augment a batch, one training step on it)."""
    import torch

    from dlstudio.train.data.augment import ImageAugment, batch_generator

    images = torch.randn(batch * 8, 3, size, size)
    augment = ImageAugment(crop_scale=(0.08, 1.0), flip=0.5)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 32, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(64, 2),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    target = torch.zeros(batch, dtype=torch.int64)
    data_ms, step_ms = [], []
    for step in range(repeats):
        start = time.perf_counter()
        index = torch.randperm(len(images))[:batch]
        (x,) = augment((images[index],), batch_generator(0, 0, step))
        data_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(x), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step_ms.append((time.perf_counter() - start) * 1000)
    return statistics.median(data_ms), statistics.median(step_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=600)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_photos(Path(tmp), args.images)
        serial = time_decode(paths, 64, 0)
        parallel = time_decode(paths, 64, args.workers)
    print(
        f"decode {args.images} JPEGs (320x320 -> 64x64): {serial:.2f} s in one process, "
        f"{parallel:.2f} s in {args.workers} processes (x{serial / parallel:.2f})"
    )
    for size, batch in ((32, 128), (64, 64), (224, 32)):
        data_ms, step_ms = time_batches(size, batch)
        print(
            f"batch {batch} of {size}x{size}: draw + augment {data_ms:.1f} ms, training step "
            f"{step_ms:.1f} ms (data {100 * data_ms / (data_ms + step_ms):.0f}% of the step)"
        )


if __name__ == "__main__":
    main()
