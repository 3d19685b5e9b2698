"""MNIST / Fashion-MNIST download into the user's data folder, checksum-verified.

Files from the canonical servers are checked against their published sha256 digests (below).
For another server (a mirror, a test server) pass a ``checksums`` table ``{file name: sha256}``;
without one, the digest of the first download is recorded next to the file (``<name>.sha256``) and
every later use is checked against it, so a damaged or swapped file is still caught.
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from dlstudio.core.files import write_text_atomic
from dlstudio.train.data.images import MNIST_FILES, read_idx
from dlstudio.train.errors import DatasetError

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
ProgressCallback = Callable[[str, int, int], None]
"""``progress(file_name, bytes_done, bytes_total)``; total is 0 when the server does not say."""


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
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _verify(path: Path, expected: str | None) -> None:
    recorded = path.with_name(path.name + ".sha256")
    actual = sha256_of(path)
    if expected is None and recorded.exists():
        expected = recorded.read_text().strip()
    if expected is not None and actual != expected.lower():
        raise DatasetError(
            f"{path}: checksum mismatch (sha256 {actual}, expected {expected}); the file is "
            "damaged or not the original; delete it and download again"
        )
    write_text_atomic(recorded, actual + "\n")


def download_mnist(
    fashion: bool = False,
    dest: Path | None = None,
    base_url: str | None = None,
    checksums: dict[str, str] | None = None,
    progress: ProgressCallback | None = None,
    timeout_s: float = 30.0,
) -> Path:
    """Fetch the four canonical ``.gz`` files (skipping ones already cached) and return the folder."""
    folder = (
        Path(dest)
        if dest is not None
        else user_data_dir() / ("fashion_mnist" if fashion else "mnist")
    )
    folder.mkdir(parents=True, exist_ok=True)
    url = base_url or (FASHION_MNIST_URL if fashion else MNIST_URL)
    if checksums is None and base_url is None:
        checksums = FASHION_MNIST_SHA256 if fashion else MNIST_SHA256
    if not url.endswith("/"):
        url += "/"
    for stem in MNIST_FILES.values():
        name = f"{stem}.gz"
        target = folder / name
        expected = (checksums or {}).get(name)
        if not target.exists():
            _fetch(url + name, target, progress, timeout_s)
        _verify(target, expected)
        read_idx(target)  # a file that verifies but does not parse is still useless: say so now
    return folder


def _fetch(url: str, target: Path, progress: ProgressCallback | None, timeout_s: float) -> None:
    partial = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response, partial.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            while chunk := response.read(1 << 16):
                out.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(target.name, done, total)
    except (urllib.error.URLError, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise DatasetError(
            f"could not download {url} ({exc}); check the network connection, or copy the "
            f"MNIST files into {target.parent} by hand"
        ) from None
    # Rename only a complete download, so an interrupted one is never mistaken for the file.
    os.replace(partial, target)
