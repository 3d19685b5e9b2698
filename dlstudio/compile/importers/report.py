"""What an import produced: the graph, its weights by node, and the honest list of what did not
translate."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dlstudio.core.graph import LayerGraph

PLACEHOLDER = "placeholder"
"""Action: a Placeholder node stands where the operation was; the user replaces it."""
SKIPPED = "not imported"
"""Action: the value could not be represented and was left out (the import is incomplete)."""


@dataclass(frozen=True)
class ImportIssue:
    """One operation or module with no catalogue layer: what it is, where, and what was done."""

    op: str
    """The operation: ``torch.roll``, ``nn.PixelShuffle``, ONNX ``Einsum``."""
    where: str
    """Module path (``layer1.0.shift``) or ONNX node name where it occurs."""
    action: str
    """:data:`PLACEHOLDER` or :data:`SKIPPED`."""
    detail: str = ""
    """Why it did not map (an option we lack, say), when the op itself is known."""
    node_id: str | None = None
    """The placeholder node standing in for it, if any."""

    def message(self) -> str:
        """One line for people: ``layer1.shift: torch.roll has no layer (placeholder ...)``."""
        why = f" ({self.detail})" if self.detail else ""
        if self.action == PLACEHOLDER:
            done = "a Placeholder node stands in for it; replace it with layers"
        else:
            done = "it was not imported"
        return f"{self.where}: {self.op} has no DL Studio layer{why}; {done}"


@dataclass
class ImportResult:
    """An imported model: graph, weights (node id -> tensors by the compiled submodule's keys),
    and the issues; ``ok`` only when everything translated."""

    graph: LayerGraph
    weights: dict[str, dict[str, Any]] = field(default_factory=dict)
    issues: list[ImportIssue] = field(default_factory=list)
    keyed_weights: dict[str, Any] | None = None
    """With blocks: the weights by ``state_dict`` key (module paths), instead of by node."""
    source: str = ""
    """What was imported (``torchvision.models:resnet18``, a file name)."""
    renamed: dict[str, str] = field(default_factory=dict)
    """Module names the generated code cannot use (not Python names, other than hyphenated
    ones and numbers, or reserved: ``forward``) -> the names they got in the project."""
    renamed_paths: dict[str, str] = field(default_factory=dict)
    """The same by module path: the source's path of each renamed module -> its new name
    (``encoder.forward`` -> ``forward_``; another ``forward`` elsewhere may keep its name)."""
    unused: dict[str, int] = field(default_factory=dict)
    """Submodules of the source whose weights the import never met (not called in eval mode,
    such as inception_v3's auxiliary head) -> their number of values."""
    tokenizer_from: str = ""
    """A Hugging Face folder or hub id whose tokenizer files go beside the project."""
    source_names: dict[str, str] = field(default_factory=dict)
    """Node id -> the source's name for the value the node computes (an ONNX value name), for
    naming the first value that departs when the import is checked."""
    check: Any = None
    """The :class:`~.verify.Verification` against the source, once it has run."""

    @property
    def ok(self) -> bool:
        """True when every operation became a catalogue layer."""
        return not self.issues

    def report_lines(self) -> list[str]:
        """The report, one line per issue, for the command line and the Problems dock."""
        return [issue.message() for issue in self.issues]
