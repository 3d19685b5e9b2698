"""Small helper classes that some layers need, pasted into the generated file when used.

Each helper is plain PyTorch source (only ``torch``, ``nn``, ``F`` and ``math``), written the
way a person would write it, so the exported file stays standalone.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Helper:
    """One helper class: its name, its source and the helpers it builds on."""

    name: str
    source: str
    requires: tuple[str, ...] = ()


HELPERS: dict[str, Helper] = {}


def register_helper(helper: Helper) -> Helper:
    """Add a helper class (names are unique)."""
    if helper.name in HELPERS:
        raise RuntimeError(f"helper {helper.name!r} is registered twice")
    HELPERS[helper.name] = helper
    return helper


def helper_closure(names: list[str] | tuple[str, ...]) -> list[Helper]:
    """The helpers named and those they require, dependencies first, each once."""
    ordered: list[Helper] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        helper = HELPERS[name]
        for dep in helper.requires:
            visit(dep)
        ordered.append(helper)

    for name in names:
        visit(name)
    return ordered
