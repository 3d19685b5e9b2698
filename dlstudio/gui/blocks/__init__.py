"""Blocks in the editor: which graph of the tree the canvas shows, the breadcrumb bar, and the
block edits (group, ungroup, insert a project as a block, the palette's Blocks section)."""

from __future__ import annotations

from dlstudio.gui.blocks.level import DocumentLevel, Level

__all__ = ["DocumentLevel", "Level"]
