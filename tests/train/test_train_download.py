"""MNIST download, tested only against a local http.server on 127.0.0.1 serving generated files."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from test_train_data import make_mnist_folder

from dlstudio.train import DatasetError, download_mnist, load_dataset


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        _QuietHandler.requests.append(self.path)
        super().do_GET()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Serves a folder of generated MNIST files; yields (base url, folder)."""
    folder = tmp_path / "served"
    make_mnist_folder(folder, count=20)
    _QuietHandler.requests = []
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", folder
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _checksums(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.gz")}


def test_download_verifies_caches_and_reports_progress(
    server: tuple[str, Path], tmp_path: Path
) -> None:
    url, served = server
    seen: list[tuple[str, int, int]] = []
    dest = tmp_path / "cache"
    folder = download_mnist(
        dest=dest, base_url=url, checksums=_checksums(served), progress=lambda *a: seen.append(a)
    )
    assert sorted(p.name for p in folder.glob("*.gz")) == sorted(_checksums(served))
    assert {name for name, _done, _total in seen} == set(_checksums(served))
    assert all(done == total for name, done, total in seen if name.startswith("t10k-labels"))
    assert len(_QuietHandler.requests) == 4
    download_mnist(dest=dest, base_url=url, checksums=_checksums(served))
    assert len(_QuietHandler.requests) == 4  # cached: nothing fetched again
    assert len(load_dataset(folder)) == 20


def test_wrong_checksum_is_refused(server: tuple[str, Path], tmp_path: Path) -> None:
    url, served = server
    table = _checksums(served)
    table["train-labels-idx1-ubyte.gz"] = "0" * 64
    with pytest.raises(DatasetError, match=r"train-labels-idx1-ubyte\.gz: checksum mismatch"):
        download_mnist(dest=tmp_path / "c", base_url=url, checksums=table)


def test_swapped_file_is_caught_without_a_table(server: tuple[str, Path], tmp_path: Path) -> None:
    url, _served = server
    dest = tmp_path / "c"
    download_mnist(dest=dest, base_url=url)  # records the digests of the first download
    labels = dest / "t10k-labels-idx1-ubyte.gz"
    damaged = bytearray(labels.read_bytes())
    damaged[-1] ^= 0xFF
    labels.write_bytes(bytes(damaged))
    with pytest.raises(DatasetError, match="checksum mismatch"):
        download_mnist(dest=dest, base_url=url)


def test_unreachable_server_names_the_url(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    with pytest.raises(DatasetError, match=rf"could not download http://127.0.0.1:{port}/train"):
        download_mnist(dest=tmp_path / "c", base_url=f"http://127.0.0.1:{port}/", timeout_s=5)
    assert not list((tmp_path / "c").glob("*.part"))


def test_builtin_mnist_without_files_says_how_to_get_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DLSTUDIO_DATA_DIR", str(tmp_path))
    with pytest.raises(DatasetError, match=r"mnist is not in .* yet; download it"):
        load_dataset("mnist")


def test_canonical_downloads_are_checked_against_the_published_sha256(tmp_path, monkeypatch):
    """From the canonical server, a file whose digest differs from the published one is refused
    (the fetch is replaced by a local copy of a generated file: no network is used)."""
    from dlstudio.train.data import download
    from dlstudio.train.errors import DatasetError

    fetched = []

    def fake_fetch(url, target, *args):
        fetched.append(url)
        target.write_bytes(b"not the real MNIST file")

    monkeypatch.setattr(download, "_fetch", fake_fetch)
    with pytest.raises(DatasetError, match="checksum mismatch") as info:
        download.download_mnist(dest=tmp_path)
    assert fetched[0].startswith(download.MNIST_URL)
    assert download.MNIST_SHA256[fetched[0].rsplit("/", 1)[1]] in str(info.value)
