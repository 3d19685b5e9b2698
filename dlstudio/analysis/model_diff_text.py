"""A :class:`~dlstudio.analysis.model_diff.ModelDiff` as lines of text for people (the
``diff`` command, the editor's comparison panel)."""

from __future__ import annotations

from typing import Any

from dlstudio.analysis.model_diff import LayerChange, ModelDiff

MARKS = {"added": "+", "removed": "-", "renamed": "~", "changed": "~"}


def diff_lines(diff: ModelDiff) -> list[str]:
    """A headline, one line per changed layer (with what changed), then the figures per block."""
    counts = diff.counts()
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "no differences"
    lines = [f"{diff.name_a} -> {diff.name_b}: {summary}"]
    lines += [change_line(c) for c in diff.changes]
    lines += ["", "parameters and MACs by block (A -> B):"]
    width = max(len(b.path or "model") for b in diff.blocks)
    for block in diff.blocks:
        name = (block.path or "model").ljust(width)
        lines.append(
            f"  {name}  params {_pair(block.params, block.params_delta)}  "
            f"MACs {_pair(block.macs, block.macs_delta)}"
        )
    return lines


def change_line(change: LayerChange) -> str:
    """``~ conv1 (Conv2D): out_channels 6 -> 16; params 156 -> 416 (+260)``."""
    text = f"{MARKS[change.kind]} {change.path} ({change.type_label})"
    if change.kind in ("added", "removed"):
        side = 1 if change.kind == "added" else 0
        figures = []
        if change.params[side] is not None:
            figures.append(f"{change.params[side]:,} params")
        if change.macs[side] is not None:
            figures.append(f"{count(change.macs[side])} MACs")
        return f"{text} {change.kind}" + (f": {', '.join(figures)}" if figures else "")
    parts = [f"{v.name} {value_text(v.before)} -> {value_text(v.after)}" for v in change.values]
    if change.params[0] != change.params[1]:
        parts.append(f"params {_pair(change.params, _minus(change.params))}")
    if not parts:
        parts.append(f"MACs {_pair(change.macs, _minus(change.macs))}")
    return f"{text}: {'; '.join(parts)}"


def value_text(value: Any) -> str:
    """A parameter value as the properties panel shows it (``none`` for absent)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list | tuple):
        return "x".join(str(v) for v in value)
    return str(value)


def count(value: int | None) -> str:
    """1234567 -> ``1.23M``; small numbers with thousands separators."""
    if value is None:
        return "?"
    for size, unit in ((1e9, "G"), (1e6, "M")):
        if abs(value) >= size:
            return f"{value / size:.2f}{unit}"
    return f"{value:,}"


def _pair(pair: tuple[int | None, int | None], delta: int | None) -> str:
    before, after = (count(v) if v is not None else "none" for v in pair)
    if delta is None or delta == 0:
        return f"{before} -> {after}" if pair[0] != pair[1] else after
    return f"{before} -> {after} ({'+' if delta > 0 else '-'}{count(abs(delta))})"


def _minus(pair: tuple[int | None, int | None]) -> int | None:
    if pair[0] is None or pair[1] is None:
        return None
    return pair[1] - pair[0]
