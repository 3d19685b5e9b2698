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
