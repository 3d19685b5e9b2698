"""CIFAR download and reading, against a local HTTP server on 127.0.0.1 that serves a tiny
CIFAR-format tarball generated here; the server can break a transfer midway, ignore range
requests, or serve damaged bytes."""

from __future__ import annotations

import hashlib
import http.server
import io
import pickle
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch

from dlstudio.train import DatasetError, DownloadCancelled, download_cifar, load_dataset
from dlstudio.train.data.fetch import MIRROR_ENV, Checksum


def _pickle(obj: object) -> bytes:
    return pickle.dumps(obj, protocol=2)  # the format of the published files


def make_cifar_tarball(name: str = "cifar10", per_batch: int = 4, seed: int = 0) -> bytes:
    """A CIFAR python-format tarball with a few random images per batch."""
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    cifar10 = name == "cifar10"
    folder = "cifar-10-batches-py" if cifar10 else "cifar-100-python"
    members: dict[str, object] = {}

    def batch(count: int) -> dict[bytes, object]:
        data = rng.integers(0, 256, size=(count, 3072), dtype=np.uint8)
        if cifar10:
            return {b"data": data, b"labels": [int(v) for v in rng.integers(0, 10, count)]}
        return {
            b"data": data,
            b"fine_labels": [int(v) for v in rng.integers(0, 100, count)],
            b"coarse_labels": [int(v) for v in rng.integers(0, 20, count)],
        }

    if cifar10:
        for i in range(1, 6):
            members[f"data_batch_{i}"] = batch(per_batch)
        members["test_batch"] = batch(per_batch)
        members["batches.meta"] = {b"label_names": [f"c{i}".encode() for i in range(10)]}
    else:
        members["train"] = batch(per_batch * 5)
        members["test"] = batch(per_batch)
        members["meta"] = {
            b"fine_label_names": [f"f{i}".encode() for i in range(100)],
            b"coarse_label_names": [f"k{i}".encode() for i in range(20)],
        }
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for member, obj in members.items():
            raw = _pickle(obj)
            info = tarfile.TarInfo(f"{folder}/{member}")
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))
    return buffer.getvalue()


@dataclass
class Served:
    """What the test server holds and how it misbehaves."""

    files: dict[str, bytes] = field(default_factory=dict)
    cut_after: int | None = None  # the next full or ranged reply stops after this many bytes
    honour_ranges: bool = True
    requests: list[tuple[str, str | None]] = field(default_factory=list)


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    served: Served

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        served = self.served
        range_header = self.headers.get("Range")
        served.requests.append((self.path, range_header))
        body = served.files.get(self.path.rsplit("/", 1)[-1])
        if body is None:
            self.send_error(404)
            return
        start = 0
        if range_header and served.honour_ranges:
            start = int(range_header.split("=")[1].split("-")[0])
            if start >= len(body):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        rest = body[start:]
        self.send_header("Content-Length", str(len(rest)))
        self.end_headers()
        if served.cut_after is not None:
            rest, served.cut_after = rest[: served.cut_after], None
            self.wfile.write(rest)
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(rest)


@pytest.fixture
def server() -> Iterator[tuple[str, Served]]:
    """A local server; yields (base url, its state)."""
    served = Served()
    handler = type("Handler", (_RangeHandler,), {"served": served})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/cifar10/", served
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _member(path: Path, member: str) -> dict[bytes, object]:
    with tarfile.open(path) as archive:
        return pickle.loads(archive.extractfile(member).read())


def _md5(data: bytes) -> Checksum:
    return Checksum("md5", hashlib.md5(data).hexdigest())


def test_download_checks_md5_and_the_archive_loads(
    server: tuple[str, Served], tmp_path: Path
) -> None:
    url, served = server
    body = make_cifar_tarball()
    served.files["cifar-10-python.tar.gz"] = body
    seen: list[tuple[str, int, int]] = []
    path = download_cifar(
        "cifar10",
        dest=tmp_path,
        base_url=url,
        checksum=_md5(body),
        progress=lambda *a: seen.append(a),
    )
    assert path.read_bytes() == body
    assert seen[-1] == ("cifar-10-python.tar.gz", len(body), len(body))
    download_cifar("cifar10", dest=tmp_path, base_url=url, checksum=_md5(body))
    assert len(served.requests) == 1  # cached
    data = load_dataset(path)
    assert len(data) == 20 and len(data.test) == 4
    assert data.class_names == [f"c{i}" for i in range(10)]
    assert data.input_specs[0].shape == (3, 32, 32)
    # The pixels are the generated ones, normalised per channel: undo that and compare.
    mean = torch.tensor(data.options["mean"])[:, None, None]
    std = torch.tensor(data.options["std"])[:, None, None]
    first = _member(path, "cifar-10-batches-py/data_batch_1")
    pixels = (data.data.inputs[0][:4] * std + mean) * 255
    expected = torch.from_numpy(first[b"data"].reshape(4, 3, 32, 32)).float()
    assert torch.allclose(pixels, expected, atol=1e-2)
    assert data.data.target[:4].tolist() == first[b"labels"]


def test_corrupted_download_is_refused_and_nothing_is_left(
    server: tuple[str, Served], tmp_path: Path
) -> None:
    url, served = server
    body = make_cifar_tarball()
    damaged = bytearray(body)
    damaged[len(body) // 2] ^= 0xFF
    served.files["cifar-10-python.tar.gz"] = bytes(damaged)
    with pytest.raises(DatasetError, match=r"cifar-10-python\.tar\.gz: checksum mismatch \(md5"):
        download_cifar("cifar10", dest=tmp_path, base_url=url, checksum=_md5(body))
    assert list(tmp_path.iterdir()) == []


def test_interrupted_download_resumes_with_a_range_request(
    server: tuple[str, Served], tmp_path: Path
) -> None:
    url, served = server
    body = make_cifar_tarball(per_batch=20)
    served.files["cifar-10-python.tar.gz"] = body
    served.cut_after = len(body) // 3
    path = download_cifar("cifar10", dest=tmp_path, base_url=url, checksum=_md5(body))
    assert path.read_bytes() == body
    assert served.requests[1][1] == f"bytes={len(body) // 3}-"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cifar-10-python.tar.gz",
        "cifar-10-python.tar.gz.sha256",
    ]


def test_server_without_ranges_restarts_cleanly(server: tuple[str, Served], tmp_path: Path) -> None:
    url, served = server
    body = make_cifar_tarball(per_batch=20)
    served.files["cifar-10-python.tar.gz"] = body
    served.honour_ranges = False
    served.cut_after = len(body) // 2
    path = download_cifar("cifar10", dest=tmp_path, base_url=url, checksum=_md5(body))
    assert path.read_bytes() == body  # not the first half twice
    assert len(served.requests) == 2


def test_cancel_keeps_the_part_and_the_next_try_resumes(
    server: tuple[str, Served], tmp_path: Path
) -> None:
    url, served = server
    body = make_cifar_tarball(per_batch=200)
    served.files["cifar-10-python.tar.gz"] = body
    cancel = threading.Event()

    def progress(_name: str, done: int, _total: int) -> None:
        if done >= 1 << 17:
            cancel.set()

    with pytest.raises(DownloadCancelled, match="cancelled"):
        download_cifar(
            "cifar10",
            dest=tmp_path,
            base_url=url,
            checksum=_md5(body),
            progress=progress,
            cancel=cancel,
        )
    assert not (tmp_path / "cifar-10-python.tar.gz").exists()
    kept = (tmp_path / "cifar-10-python.tar.gz.part").stat().st_size
    assert 0 < kept < len(body)
    path = download_cifar("cifar10", dest=tmp_path, base_url=url, checksum=_md5(body))
    assert path.read_bytes() == body
    assert served.requests[-1][1] == f"bytes={kept}-"


def test_mirror_is_checked_against_the_published_md5(
    server: tuple[str, Served], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mirror serves the canonical file names; what it sends must match the published MD5
    (the generated tarball does not, so it is refused)."""
    url, served = server
    served.files["cifar-10-python.tar.gz"] = make_cifar_tarball()
    monkeypatch.setenv(MIRROR_ENV, url.removesuffix("cifar10/"))
    monkeypatch.setenv("DLSTUDIO_DATA_DIR", str(tmp_path))
    with pytest.raises(DatasetError, match="expected c58f30108f718f92721af3b95e74349a"):
        load_dataset("cifar10", {"download": True})
    assert served.requests[0][0] == "/cifar10/cifar-10-python.tar.gz"
    assert not any((tmp_path / "cifar10").iterdir())


def test_cifar100_fine_and_coarse_labels(tmp_path: Path) -> None:
    path = tmp_path / "cifar-100-python.tar.gz"
    path.write_bytes(make_cifar_tarball("cifar100"))
    fine = load_dataset(path)
    coarse = load_dataset(path, {"labels": "coarse"})
    assert fine.num_classes == 100 and coarse.num_classes == 20
    assert coarse.class_names[:2] == ["k0", "k1"]
    raw = _member(path, "cifar-100-python/train")
    assert coarse.data.target.tolist() == raw[b"coarse_labels"]
    assert fine.data.target.tolist() == raw[b"fine_labels"]


def test_a_pickle_that_calls_functions_is_refused(tmp_path: Path) -> None:
    """The archive is data, not code: a member naming any other function is not run."""

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("ran",))

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        raw = _pickle({b"data": Payload(), b"labels": [0]})
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.size = len(raw)
        archive.addfile(info, io.BytesIO(raw))
    path = tmp_path / "cifar-10-python.tar.gz"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(DatasetError, match=r"\.print is not allowed in a CIFAR file"):
        load_dataset(path)
