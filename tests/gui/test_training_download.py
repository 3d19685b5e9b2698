"""The Training panel's Download button: progress, the preview once the files are there, and
Cancel; against a local http.server serving generated MNIST files (no internet)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dlstudio.gui.training import downloads
from dlstudio.train import download_mnist, user_data_dir
from tests.train.test_train_data import make_mnist_folder

pytest_plugins = ["tests.gui.fixtures_training"]

SLOW_BYTES = 64 * 1024 * 40


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if not self.path.startswith("/slow/"):
            super().do_GET()
            return
        self.send_response(200)  # a big file that trickles in: time to press Cancel
        self.send_header("Content-Length", str(SLOW_BYTES))
        self.end_headers()
        try:
            for _ in range(SLOW_BYTES // 65536):
                self.wfile.write(b"\0" * 65536)
                time.sleep(0.05)
        except OSError:
            pass  # the client went away (cancelled)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local server of 20 generated MNIST images; yields (base url, folder)."""
    folder = tmp_path / "served"
    make_mnist_folder(folder, count=20)
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(folder))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", folder
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _serve_mnist_from(monkeypatch, url: str, served: Path) -> None:
    sums = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in served.glob("*.gz")}
    item = downloads.DOWNLOADS["mnist"]
    fetch = functools.partial(download_mnist, base_url=url, checksums=sums)
    monkeypatch.setitem(
        downloads.DOWNLOADS,
        "mnist",
        downloads.Downloadable(
            item.name,
            item.title,
            item.size,
            item.present,
            lambda progress, cancel: fetch(progress=progress, cancel=cancel),
        ),
    )


def test_download_shows_progress_then_the_data_set(make_window, qtbot, server, monkeypatch):
    url, served = server
    _serve_mnist_from(monkeypatch, url, served)
    win = make_window("lenet5", dataset="mnist", dataset_options={})
    box = win.training.panel.data_box
    seen: list[tuple[str, int, int]] = []
    box.downloads.progress.connect(lambda *args: seen.append(args))
    assert box.download_button.isVisibleTo(box)
    with qtbot.waitSignal(box.download_finished, timeout=30_000) as blocker:
        box.download_button.click()
        assert box.download_progress.isVisibleTo(box) and box.download_cancel.isVisibleTo(box)
        assert not box.download_button.isVisibleTo(box)
    assert blocker.args == ["mnist", ""]
    assert {name for name, _d, _t in seen} == {p.name for p in served.glob("*.gz")}
    assert (user_data_dir() / "mnist" / "train-images-idx3-ubyte.gz").exists()
    assert not box.download_button.isVisibleTo(box)
    # The panel checks the data set again: 20 images of 1x28x28, shown in the preview.
    check = win.training.data_check
    qtbot.waitUntil(
        lambda: check.current() is not None and not check.current().error, timeout=30_000
    )
    assert check.current().errors == []
    assert "20 samples (+10 test)" in box.summary_label.text()
    assert len(box.sample_labels) == 5


def test_cancel_stops_the_download(make_window, qtbot, server, monkeypatch):
    url, _served = server
    fetch = functools.partial(download_mnist, base_url=url + "slow/", checksums={})
    item = downloads.DOWNLOADS["mnist"]
    monkeypatch.setitem(
        downloads.DOWNLOADS,
        "mnist",
        downloads.Downloadable(
            item.name,
            item.title,
            item.size,
            item.present,
            lambda progress, cancel: fetch(progress=progress, cancel=cancel),
        ),
    )
    win = make_window("lenet5", dataset="mnist", dataset_options={})
    box = win.training.panel.data_box
    with qtbot.waitSignal(box.downloads.progress, timeout=10_000):
        box.download_button.click()
    began = time.perf_counter()
    with qtbot.waitSignal(box.download_finished, timeout=10_000) as blocker:
        box.download_cancel.click()
    assert time.perf_counter() - began < 1.5  # well before the 2 s file is complete
    assert blocker.args[1].startswith("Download cancelled")
    assert box.download_status.text().startswith("Download cancelled")
    assert not (user_data_dir() / "mnist" / "train-images-idx3-ubyte.gz").exists()
    assert box.download_button.isVisibleTo(box)  # try again
