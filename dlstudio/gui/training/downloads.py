"""The Training panel's Download button: MNIST, Fashion-MNIST and CIFAR-10 fetched off the GUI
thread, with progress and cancel (the downloaders and their checksums are
:mod:`dlstudio.train.data`'s own)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, Signal

from dlstudio.gui.workers import TaskHandle, run_in_thread
from dlstudio.train.data import download_cifar, download_mnist, user_data_dir
from dlstudio.train.data.cifar import cifar_archive
from dlstudio.train.data.fetch import CancelToken, DownloadCancelled, ProgressCallback

Fetch = Callable[[ProgressCallback, CancelToken], Path]
"""``fetch(progress, cancel)`` downloads a data set and returns where it lies."""


@dataclass(frozen=True)
class Downloadable:
    """A built-in data set that is fetched once: how to tell it is here, and how to fetch it."""

    name: str
    title: str
    size: str
    present: Callable[[], bool]
    fetch: Fetch


def _mnist_present(folder: str) -> bool:
    path = user_data_dir() / folder  # a partial download (.part) is not the data set
    return any(
        (path / name).is_file()
        for name in ("train-images-idx3-ubyte", "train-images-idx3-ubyte.gz")
    )


DOWNLOADS: dict[str, Downloadable] = {
    "mnist": Downloadable(
        "mnist",
        "MNIST",
        "11 MB",
        lambda: _mnist_present("mnist"),
        lambda progress, cancel: download_mnist(progress=progress, cancel=cancel),
    ),
    "fashion_mnist": Downloadable(
        "fashion_mnist",
        "Fashion-MNIST",
        "30 MB",
        lambda: _mnist_present("fashion_mnist"),
        lambda progress, cancel: download_mnist(fashion=True, progress=progress, cancel=cancel),
    ),
    "cifar10": Downloadable(
        "cifar10",
        "CIFAR-10",
        "163 MB",
        lambda: cifar_archive("cifar10").exists(),
        lambda progress, cancel: download_cifar("cifar10", progress=progress, cancel=cancel),
    ),
}
"""The data sets the panel offers to download, by name."""


class DownloadRunner(QObject):
    """Runs one download at a time on a pool thread; reports progress and the outcome."""

    progress = Signal(str, int, int)
    """File name, bytes done, bytes total (0: unknown); emitted from the download's thread."""
    finished = Signal(str, str)
    """Data-set name and the outcome: ``""`` when done, else a sentence (cancelled, failed)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.task: TaskHandle | None = None
        self.current: Downloadable | None = None
        self._cancel = threading.Event()

    @property
    def busy(self) -> bool:
        """True while a download runs."""
        return self.task is not None

    def start(self, item: Downloadable) -> TaskHandle | None:
        """Start downloading ``item`` (None: another download is running)."""
        if self.busy:
            return None
        self.current = item
        self._cancel = threading.Event()
        cancel = self._cancel

        def report(name: str, done: int, total: int) -> None:
            if not shiboken6.isValid(self):  # the window closed: stop downloading
                cancel.set()
                return
            self.progress.emit(name, done, total)

        self.task = run_in_thread(lambda: item.fetch(report, cancel), self._on_done, self._on_error)
        return self.task

    def cancel(self) -> None:
        """Stop the running download after its current chunk (what came is kept to resume)."""
        self._cancel.set()

    def _on_done(self, _path: object) -> None:
        self._end("")

    def _on_error(self, exc: BaseException, _trace: str) -> None:
        if isinstance(exc, DownloadCancelled) or self._cancel.is_set():
            self._end("Download cancelled; the next try goes on from where it stopped.")
        else:
            self._end(f"Download failed: {exc}")

    def _end(self, outcome: str) -> None:
        if not shiboken6.isValid(self):
            return
        name = self.current.name if self.current else ""
        self.task = None
        self.current = None
        self.finished.emit(name, outcome)
