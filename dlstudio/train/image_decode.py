"""Decoding image files to arrays, alone in a module that imports neither torch nor the data
package, so worker processes that decode a large image folder start in a fraction of a second.

``benchmarks/bench_data_loading.py`` measures where worker processes could pay. Batches of an
in-memory data set need none: drawing and augmenting one took 2-10 % of a small CNN's training
step on the CPU. Decoding a folder of photos happens once, when the data set loads; on the
2-core development machine (shared with other work) 1,200 JPEGs took 6.2 s in one process and
9.1 s in two spawned ones, so decoding stays in one process unless the ``workers`` option asks
for more (a many-core machine with tens of thousands of photos).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np


def decode_image(path: str, size: int) -> tuple[np.ndarray | None, bool, str]:
    """(H x W x 3 uint8 pixels resized to ``size``, whether the file is grey, error text)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            grey = img.mode in ("L", "1", "I;16", "I")
            rgb = img.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
            return np.asarray(rgb, dtype=np.uint8), grey, ""
    except (UnidentifiedImageError, OSError) as exc:
        return None, False, str(exc)


def decode_all(
    paths: list[Path], size: int, workers: int = 0
) -> list[tuple[np.ndarray | None, bool, str]]:
    """Every file decoded, in order; with ``workers`` > 1 in that many spawned processes."""
    names = [str(p) for p in paths]
    if workers <= 1 or len(names) < 2:
        return [decode_image(name, size) for name in names]
    # Spawned, not forked: the caller may hold threads (Qt, torch) that a fork would copy
    # in a locked state.
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        chunk = max(1, len(names) // (workers * 4))
        return list(pool.map(decode_image, names, [size] * len(names), chunksize=chunk))
