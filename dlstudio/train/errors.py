"""Errors the training package raises on purpose; each says what, where and what to do."""

from __future__ import annotations

from dlstudio.core.errors import DLStudioError


class TrainError(DLStudioError):
    """A training run that cannot start or continue (bad settings, no such device, ...)."""


class DatasetError(DLStudioError):
    """A data set that cannot be loaded or generated; names the file and the place inside it."""


class IncompatibleDataError(TrainError):
    """The data set's inputs or targets do not fit the model; carries one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))
