"""MNIST / Fashion-MNIST download into the user's data folder, checksum-verified.

Files from the canonical servers, or from the mirror named by ``$DLSTUDIO_DATA_MIRROR`` (read from
``<mirror>/mnist/`` and ``<mirror>/fashion_mnist/``), are checked against their published sha256
digests (below). For another server given as ``base_url`` pass a ``checksums`` table
``{file name: sha256}``; without one, the digest of the first download is recorded next to the
file (``<name>.sha256``) and every later use is checked against it, so a damaged or swapped file
is still caught. Transfers (progress, cancel, resume) are :mod:`dlstudio.train.data.fetch`'s.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from dlstudio.train.data.fetch import (
    CancelToken,
    Checksum,
    ProgressCallback,
    check_file,
    digest_of,
    fetch_file,
    mirror_url,
)
from dlstudio.train.data.images import MNIST_FILES, read_idx

MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
# Published sha256 digests of the four canonical files (as listed with their sizes, e.g. MNIST's
# train-images-idx3-ubyte.gz of 9,912,422 bytes, by TensorFlow Datasets' URL checksums).
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
FASHION_MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}


def user_data_dir() -> Path:
    """Where downloaded data sets are cached: ``$DLSTUDIO_DATA_DIR`` or the platform's data folder."""
    override = os.environ.get("DLSTUDIO_DATA_DIR")
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
        return base / "DLStudio" / "data"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "DLStudio" / "data"
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "dlstudio" / "data"


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    return digest_of(path, "sha256")


def download_mnist(
    fashion: bool = False,
    dest: Path | None = None,
    base_url: str | None = None,
    checksums: dict[str, str] | None = None,
    progress: ProgressCallback | None = None,
    timeout_s: float = 30.0,
    cancel: CancelToken | None = None,
) -> Path:
    """Fetch the four canonical ``.gz`` files (skipping ones already cached) and return the folder.

    ``progress(file, done, total)`` is called as bytes arrive; setting ``cancel`` (a
    :class:`threading.Event`) stops the download with :class:`DownloadCancelled`.
    """
    dataset = "fashion_mnist" if fashion else "mnist"
    folder = Path(dest) if dest is not None else user_data_dir() / dataset
    folder.mkdir(parents=True, exist_ok=True)
    url = base_url or mirror_url(dataset) or (FASHION_MNIST_URL if fashion else MNIST_URL)
    if checksums is None and base_url is None:
        checksums = FASHION_MNIST_SHA256 if fashion else MNIST_SHA256
    if not url.endswith("/"):
        url += "/"
    for stem in MNIST_FILES.values():
        name = f"{stem}.gz"
        target = folder / name
        digest = (checksums or {}).get(name)
        expected = Checksum("sha256", digest) if digest else None
        if not target.exists():
            _fetch(url + name, target, expected, progress, cancel, timeout_s)
        check_file(target, expected)
        read_idx(target)  # a file that verifies but does not parse is still useless: say so now
    return folder


def _fetch(
    url: str,
    target: Path,
    expected: Checksum | None,
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
    timeout_s: float,
) -> None:
    fetch_file(url, target, expected, progress=progress, cancel=cancel, timeout_s=timeout_s)
