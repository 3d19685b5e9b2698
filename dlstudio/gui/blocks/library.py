"""The built-in block library (``dlstudio.layers.block_library``), when it is installed, and the
drag-and-drop payload naming a block for the canvas."""

from __future__ import annotations

from dlstudio.core.blocks import BlockDefinition

BLOCK_MIME = "application/x-dlstudio-block"
"""Drag-and-drop type of a block from the palette: ``project:NAME`` or ``library:NAME``."""


def library_blocks() -> dict[str, BlockDefinition]:
    """The built-in definitions by name (empty when this build has no library)."""
    try:
        from dlstudio.layers.block_library import library_definitions
    except ImportError:
        return {}
    return dict(library_definitions())


def encode_block(source: str, name: str) -> bytes:
    """The payload for a block from ``source`` (``project`` or ``library``)."""
    return f"{source}:{name}".encode()


def decode_block(payload: bytes) -> tuple[str, str] | None:
    """``(source, name)`` from a payload, or None when it is not one."""
    text = payload.decode("utf-8", "replace").strip()
    source, _, name = text.partition(":")
    if source not in ("project", "library") or not name:
        return None
    return source, name
