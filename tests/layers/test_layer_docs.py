"""docs/layers.md is generated from the catalogue and must match it."""

from __future__ import annotations

import importlib.util

from repo_paths import REPO_ROOT


def test_layer_reference_is_up_to_date():
    spec = importlib.util.spec_from_file_location(
        "build_layer_docs", REPO_ROOT / "scripts" / "build_layer_docs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = (REPO_ROOT / "docs" / "layers.md").read_text(encoding="utf-8")
    assert committed == module.render(), (
        "docs/layers.md is out of date: run .venv/bin/python scripts/build_layer_docs.py"
    )
