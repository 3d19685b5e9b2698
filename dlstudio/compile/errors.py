"""Typed errors of the compiler: each names the node and says what to do."""

from __future__ import annotations

from dlstudio.core.errors import DLStudioError


class CompileError(DLStudioError):
    """The graph cannot become a module. ``problems`` lists ``(node name or None, message)``."""

    def __init__(self, graph_name: str, problems: list[tuple[str | None, str]]) -> None:
        self.graph_name = graph_name
        self.problems = list(problems)
        count = len(self.problems)
        lines = [f"cannot compile {graph_name!r}: {count} problem{'s' if count != 1 else ''}"]
        lines += [f"  - {message}" for _, message in self.problems]
        lines.append("Fix these in the editor (the nodes are marked red), then compile again.")
        super().__init__("\n".join(lines))


class ExportError(DLStudioError):
    """An export that failed; the message names the node and the operator where known."""


class WeightsFileError(ExportError):
    """A weights file that cannot be read (missing, truncated, not a state_dict, unsafe pickle)."""
