"""The error an import stops with: what could not be read or traced, for people."""

from __future__ import annotations

from dlstudio.core.errors import DLStudioError


class ImportFailed(DLStudioError):
    """The model could not be imported at all (not loadable, not traceable, wrong inputs)."""
