"""Typed errors. Each says what is wrong, where, and (where it can) what to do."""

from __future__ import annotations


class DLStudioError(Exception):
    """Base of every error DL Studio raises on purpose."""


class GraphEditError(DLStudioError):
    """An edit that cannot be applied to the graph (unknown node, occupied port, ...)."""


class ProjectFileError(DLStudioError):
    """A project file that cannot be read: names the file and the place inside it."""

    def __init__(self, path: str, location: str, problem: str) -> None:
        self.path = path
        self.location = location
        self.problem = problem
        where = f"{path}" + (f", at {location}" if location else "")
        super().__init__(f"{where}: {problem}")


class FileWriteError(DLStudioError, OSError):
    """A file that could not be written (read-only disk, a file where a folder should be, ...).

    The previous file at ``path``, if any, is unchanged and no temporary file is left behind.
    It is also an :class:`OSError`, so code that catches those keeps working.
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"cannot write {path}: {problem}")


class DiskFullError(FileWriteError):
    """The disk filled up while writing; the previous file is intact and the space is freed."""


class ModelTooLargeError(DLStudioError):
    """A model whose weights and activations cannot fit in the memory available for a task.

    ``needed`` and ``available`` are bytes; the message gives both figures and what to change.
    """

    def __init__(self, message: str, needed: int, available: int) -> None:
        self.needed = needed
        self.available = available
        super().__init__(message)
