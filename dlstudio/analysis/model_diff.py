"""The difference between two models: layers added, removed, renamed and changed, compared by
module path (``layer2.0.conv1``), with parameter and MAC deltas per block.

Pure data, no drawing: ``python -m dlstudio diff``, the editor's Compare With… and the run
history's architecture comparison all show what :func:`diff_models` returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dlstudio.analysis.analyze import analyze
from dlstudio.analysis.result import AnalysisResult
from dlstudio.analysis.tree import SummaryRow, summary_rows
from dlstudio.core.blocks import BLOCK_TYPE
from dlstudio.core.graph import LayerGraph, LayerNode

KINDS = ("added", "removed", "renamed", "changed")


@dataclass(frozen=True)
class ValueChange:
    """One setting that differs: a parameter, the Trainable box, or a port's input."""

    name: str
    before: Any
    after: Any


@dataclass(frozen=True)
class LayerChange:
    """A layer (or block instance) that is only in A, only in B, or in both but different."""

    kind: str
    """``added``, ``removed``, ``renamed`` (same layer, new name) or ``changed``."""
    path: str
    """The module path in B (in A for a removed layer)."""
    type_label: str
    values: tuple[ValueChange, ...] = ()
    """For ``changed`` and ``renamed``: what differs (a rename lists ``name``)."""
    params: tuple[int | None, int | None] = (None, None)
    """Parameter count in A and in B (None where the layer is absent or unknown)."""
    macs: tuple[int | None, int | None] = (None, None)
    location_a: tuple[str, ...] = ()
    """Node ids from the top graph down to the layer in A (empty when absent)."""
    location_b: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlignedRow:
    """One line of a side-by-side view: the layer in A, in B, or in both."""

    kind: str
    """``same``, or the kind of its :class:`LayerChange`."""
    path_a: str | None
    path_b: str | None
    type_a: str | None
    type_b: str | None
    params: tuple[int | None, int | None]
    depth: int


@dataclass(frozen=True)
class BlockDelta:
    """Parameters and MACs of one block path (``""`` is the whole model) in A and in B."""

    path: str
    label: str
    params: tuple[int | None, int | None]
    macs: tuple[int | None, int | None]

    @property
    def params_delta(self) -> int | None:
        """B minus A, or None when either is unknown."""
        return _delta(self.params)

    @property
    def macs_delta(self) -> int | None:
        """B minus A, or None when either is unknown."""
        return _delta(self.macs)


@dataclass(frozen=True)
class ModelDiff:
    """Everything that differs between model A and model B."""

    name_a: str
    name_b: str
    changes: list[LayerChange] = field(default_factory=list)
    blocks: list[BlockDelta] = field(default_factory=list)
    """The whole model first, then every block path present in A or B, in B's order."""
    rows: list[AlignedRow] = field(default_factory=list)
    """Every layer of A and B side by side, in B's order (removed ones after their parent)."""

    @property
    def same(self) -> bool:
        """True when no layer was added, removed, renamed or changed."""
        return not self.changes

    def of_kind(self, kind: str) -> list[LayerChange]:
        """The changes of one kind, in model order."""
        return [c for c in self.changes if c.kind == kind]

    def counts(self) -> dict[str, int]:
        """How many changes of each kind."""
        return {kind: len(self.of_kind(kind)) for kind in KINDS}

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values, for ``diff --json`` and scripts."""
        return {
            "a": self.name_a,
            "b": self.name_b,
            "same": self.same,
            "counts": self.counts(),
            "changes": [
                {
                    "kind": c.kind,
                    "path": c.path,
                    "type": c.type_label,
                    "values": [
                        {"name": v.name, "before": _json(v.before), "after": _json(v.after)}
                        for v in c.values
                    ],
                    "params": {"a": c.params[0], "b": c.params[1], "delta": _delta(c.params)},
                    "macs": {"a": c.macs[0], "b": c.macs[1], "delta": _delta(c.macs)},
                }
                for c in self.changes
            ],
            "blocks": [
                {
                    "path": b.path,
                    "label": b.label,
                    "params": {"a": b.params[0], "b": b.params[1], "delta": b.params_delta},
                    "macs": {"a": b.macs[0], "b": b.macs[1], "delta": b.macs_delta},
                }
                for b in self.blocks
            ],
        }


def diff_models(
    a: LayerGraph,
    b: LayerGraph,
    analysis_a: AnalysisResult | None = None,
    analysis_b: AnalysisResult | None = None,
) -> ModelDiff:
    """Compare model A with model B by module path. A layer keeps its path when it keeps its
    name; a layer whose name changed but whose node is the same (same id and type in the same
    block) is ``renamed``, not removed and added."""
    result_a = analysis_a or analyze(a)
    result_b = analysis_b or analyze(b)
    rows_a = {r.path: r for r in summary_rows(a, result_a) if r.node is not None}
    rows_b = {r.path: r for r in summary_rows(b, result_b) if r.node is not None}
    changes: list[LayerChange] = []
    removed = [p for p in rows_a if p not in rows_b]
    added = [p for p in rows_b if p not in rows_a]
    renamed = _renames(rows_a, rows_b, removed, added)
    order = {path: k for k, path in enumerate(rows_b)}
    for path, row_b in rows_b.items():
        if path in rows_a:
            values = _differences(a, rows_a[path], b, row_b)
            # Same settings, other weights: a size inferred from a changed input (conv2 after
            # conv1 got more channels) is a change of the layer too.
            if values or rows_a[path].params != row_b.params:
                changes.append(_change("changed", path, rows_a[path], row_b, values))
        elif path in renamed:
            row_a = rows_a[renamed[path]]
            values = (ValueChange("name", row_a.path, path), *_differences(a, row_a, b, row_b))
            changes.append(_change("renamed", path, row_a, row_b, values))
        else:
            changes.append(_change("added", path, None, row_b, ()))
    gone = set(renamed.values())
    for path in removed:
        if path not in gone:
            changes.append(_change("removed", path, rows_a[path], None, ()))
    places = _removed_places(list(rows_a), order, {old: new for new, old in renamed.items()})
    changes.sort(key=lambda c: (order.get(c.path, places.get(c.path, len(order))), c.kind))
    blocks = _block_deltas(a, result_a, b, result_b)
    rows = _aligned(rows_a, rows_b, changes, order, places)
    return ModelDiff(a.name, b.name, changes, blocks, rows)


def _aligned(
    rows_a: dict[str, SummaryRow],
    rows_b: dict[str, SummaryRow],
    changes: list[LayerChange],
    order: dict[str, int],
    places: dict[str, float],
) -> list[AlignedRow]:
    kinds = {c.path: c for c in changes}
    out: list[tuple[float, AlignedRow]] = []
    for path, row in rows_b.items():
        change = kinds.get(path)
        kind = change.kind if change else "same"
        old = None
        if kind == "renamed":
            old = next(v.before for v in change.values if v.name == "name")  # type: ignore[union-attr]
        elif kind != "added":
            old = path
        row_a = rows_a.get(old) if old else None
        out.append(
            (
                order[path],
                AlignedRow(
                    kind,
                    old,
                    path,
                    row_a.type_label if row_a else None,
                    row.type_label,
                    (row_a.params if row_a else None, row.params),
                    row.depth,
                ),
            )
        )
    for change in changes:
        if change.kind == "removed":
            row_a = rows_a[change.path]
            aligned = AlignedRow(
                "removed",
                change.path,
                None,
                row_a.type_label,
                None,
                (row_a.params, None),
                row_a.depth,
            )
            out.append((places[change.path], aligned))
    return [row for _key, row in sorted(out, key=lambda pair: pair[0])]


def _removed_places(
    paths_a: list[str], order: dict[str, int], renamed: dict[str, str]
) -> dict[str, float]:
    """Where a layer only A has goes in B's order: right after the layer before it in A that
    B still has (in A's order), so the side-by-side view shows it where it was."""
    places: dict[str, float] = {}
    previous = -1.0
    for path in paths_a:
        kept = renamed.get(path, path)
        if kept in order:
            previous = float(order[kept])
        else:
            previous += 1e-3  # several removed in a row keep their order
            places[path] = previous
    return places


def _renames(
    rows_a: dict[str, SummaryRow],
    rows_b: dict[str, SummaryRow],
    removed: list[str],
    added: list[str],
) -> dict[str, str]:
    """New path -> old path for layers whose node kept its id and type in the same parent."""
    out: dict[str, str] = {}
    by_key = {(_parent(p), rows_a[p].node.id, rows_a[p].type_id): p for p in removed}  # type: ignore[union-attr]
    for path in added:
        row = rows_b[path]
        old = by_key.get((_parent(path), row.node.id, row.type_id))  # type: ignore[union-attr]
        if old is not None and old not in out.values():
            out[path] = old
    return out


def _parent(path: str) -> str:
    return path.rpartition(".")[0]


def _differences(
    a: LayerGraph, row_a: SummaryRow, b: LayerGraph, row_b: SummaryRow
) -> tuple[ValueChange, ...]:
    node_a, node_b = row_a.node, row_b.node
    assert node_a is not None and node_b is not None
    out: list[ValueChange] = []
    if node_a.type_id != node_b.type_id:
        out.append(ValueChange("type", row_a.type_label, row_b.type_label))
    for name in sorted(set(node_a.params) | set(node_b.params)):
        before, after = node_a.params.get(name), node_b.params.get(name)
        if before != after:
            out.append(ValueChange(name, before, after))
    if node_a.trainable != node_b.trainable:
        out.append(ValueChange("trainable", node_a.trainable, node_b.trainable))
    wires_a = _inputs(a, row_a.location, node_a)
    wires_b = _inputs(b, row_b.location, node_b)
    for port in sorted(set(wires_a) | set(wires_b)):
        if wires_a.get(port) != wires_b.get(port):
            out.append(ValueChange(f"input {port}", wires_a.get(port), wires_b.get(port)))
    return tuple(out)


def _inputs(root: LayerGraph, location: tuple[str, ...], node: LayerNode) -> dict[str, str]:
    """Each wired input port of ``node`` -> the layer (and port) feeding it, by name."""
    graph = _graph_at(root, location)
    if graph is None:
        return {}
    out = {}
    for edge in graph.edges_into(node.id):
        source = graph.node(edge.src.node)
        out[edge.dst.port] = source.name + ("" if edge.src.port == "out" else f".{edge.src.port}")
    return out


def _graph_at(root: LayerGraph, location: tuple[str, ...]) -> LayerGraph | None:
    """The graph holding the last node of ``location`` (a path of node ids from the top)."""
    graph = root
    for instance_id in location[:-1]:
        if instance_id not in graph.nodes:
            return None
        definition = root.blocks.get(str(graph.node(instance_id).params.get("block")))
        if definition is None:
            return None
        graph = definition.graph
    return graph


def _change(
    kind: str,
    path: str,
    row_a: SummaryRow | None,
    row_b: SummaryRow | None,
    values: tuple[ValueChange, ...],
) -> LayerChange:
    label = (row_b or row_a).type_label  # type: ignore[union-attr]
    return LayerChange(
        kind,
        path,
        label,
        values,
        (row_a.params if row_a else None, row_b.params if row_b else None),
        (row_a.macs if row_a else None, row_b.macs if row_b else None),
        row_a.location if row_a else (),
        row_b.location if row_b else (),
    )


def _block_deltas(
    a: LayerGraph, result_a: AnalysisResult, b: LayerGraph, result_b: AnalysisResult
) -> list[BlockDelta]:
    def blocks(rows: list[SummaryRow]) -> dict[str, SummaryRow]:
        return {r.path: r for r in rows if r.type_id == BLOCK_TYPE}

    in_a, in_b = blocks(summary_rows(a, result_a)), blocks(summary_rows(b, result_b))
    out = [
        BlockDelta(
            "",
            "model",
            (result_a.total_params, result_b.total_params),
            (result_a.total_macs, result_b.total_macs),
        )
    ]
    paths = list(in_b) + [p for p in in_a if p not in in_b]
    for path in paths:
        row_a, row_b = in_a.get(path), in_b.get(path)
        label = (row_b or row_a).type_label  # type: ignore[union-attr]
        out.append(
            BlockDelta(
                path,
                label,
                (row_a.params if row_a else None, row_b.params if row_b else None),
                (row_a.macs if row_a else None, row_b.macs if row_b else None),
            )
        )
    return out


def _delta(pair: tuple[int | None, int | None]) -> int | None:
    before, after = pair
    if before is None and after is None:
        return None
    return (after or 0) - (before or 0)


def _json(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    return str(value)
