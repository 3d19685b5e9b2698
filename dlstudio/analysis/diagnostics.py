"""Diagnostics: what is wrong, on which node or wire, and how to repair it."""

from __future__ import annotations

from dataclasses import dataclass

from dlstudio.core.graph import Edge
from dlstudio.layers.spec import Fix

ERROR = "error"
WARNING = "warning"
INFO = "info"


@dataclass(frozen=True)
class Diagnostic:
    """One finding. ``node_id`` is None for problems of the whole graph (no Input at all)."""

    severity: str
    node_id: str | None
    message: str
    fixes: tuple[Fix, ...] = ()
    edge: Edge | None = None
    """The wire the problem arrives on, so the editor can turn it red too."""
    path: str = ""
    """For a problem inside a block: the module path of the inner node (``layer2.0.conv1``)."""
    location: tuple[str, ...] = ()
    """For a problem inside a block: node ids from the top graph down to the inner node (the
    instance, any nested instances, then the inner node), so the editor can open the block."""

    @property
    def is_error(self) -> bool:
        """True for errors (which block compiling and training)."""
        return self.severity == ERROR

    def to_json(self, node_names: dict[str, str]) -> dict[str, object]:
        """The CLI's JSON form: severity, node (by name), message, fixes (labels)."""
        return {
            "severity": self.severity,
            "node": node_names.get(self.node_id, self.node_id) if self.node_id else None,
            "path": self.path or (node_names.get(self.node_id, "") if self.node_id else ""),
            "message": self.message,
            "fixes": [f.label for f in self.fixes],
        }
