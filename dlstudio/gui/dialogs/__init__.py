"""Dialogs of the main window."""

from __future__ import annotations

from dlstudio.gui.dialogs.template_gallery import TemplateGallery, TemplateInfo, list_templates

__all__ = ["TemplateGallery", "TemplateInfo", "list_templates"]
