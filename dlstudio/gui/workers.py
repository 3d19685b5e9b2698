"""Run heavy work (compile, export) off the GUI thread and hear back on it.

``run_in_thread(fn, on_done, on_error)`` runs ``fn()`` on the global :class:`QThreadPool`; the
callbacks run on the GUI thread because they are delivered through queued signals of a
:class:`TaskHandle` that lives there.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

_RUNNING: set[TaskHandle] = set()
"""Handles of unfinished tasks: Python must keep them alive until their signal has arrived."""


class TaskHandle(QObject):
    """The GUI-thread end of one background task; ``finished`` fires after either callback."""

    succeeded = Signal(object)
    failed = Signal(object, str)
    finished = Signal()

    def __init__(
        self,
        on_done: Callable[[Any], object] | None,
        on_error: Callable[[BaseException, str], object] | None,
    ) -> None:
        super().__init__()
        self.done = False
        self._on_done = on_done
        self._on_error = on_error
        self.succeeded.connect(self._on_task_succeeded)
        self.failed.connect(self._on_task_failed)

    def _on_task_succeeded(self, result: object) -> None:
        try:
            if self._on_done is not None:
                self._on_done(result)
        finally:
            self._finish()

    def _on_task_failed(self, error: object, trace: str) -> None:
        try:
            if self._on_error is not None:
                self._on_error(error, trace)  # type: ignore[arg-type]
        finally:
            self._finish()

    def _finish(self) -> None:
        self.done = True
        _RUNNING.discard(self)
        self.finished.emit()


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], handle: TaskHandle) -> None:
        super().__init__()
        self._fn = fn
        self._handle = handle

    def run(self) -> None:
        try:
            try:
                result = self._fn()
            except BaseException as exc:  # report everything: a worker must never die silently
                self._handle.failed.emit(exc, traceback.format_exc())
            else:
                self._handle.succeeded.emit(result)
        except RuntimeError:
            pass  # the application is shutting down and the handle is gone: nobody to tell


def run_in_thread(
    fn: Callable[[], Any],
    on_done: Callable[[Any], object] | None = None,
    on_error: Callable[[BaseException, str], object] | None = None,
) -> TaskHandle:
    """Run ``fn()`` on a pool thread; ``on_done(result)`` or ``on_error(exc, traceback)`` then
    runs on the GUI thread. Returns the handle (wait on its ``finished`` signal in tests)."""
    handle = TaskHandle(on_done, on_error)
    _RUNNING.add(handle)
    QThreadPool.globalInstance().start(_Task(fn, handle))
    return handle
