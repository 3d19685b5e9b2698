"""The summary tree: rows in execution order, insides after their instance, paths by module."""

from __future__ import annotations

from dlstudio.analysis import analyze
from dlstudio.analysis.tree import summary_rows
from tests.gui.gui_block_models import block_model, nested_model


def test_rows_follow_module_paths_and_copies():
    graph = block_model(repeat=2)
    result = analyze(graph)
    rows = summary_rows(graph, result)
    paths = [r.path for r in rows]
    assert paths[:5] == ["image", "stem", "layer1", "layer1.0", "layer1.0.conv1"]
    assert "layer1.1.relu2" in paths and paths[-3:] == ["flat", "fc", "output"]
    assert not any(p.endswith((".x", ".out")) for p in paths)  # ports are not layers
    copy = rows[paths.index("layer1.1")]
    assert copy.node is None and copy.is_block and copy.params == 1200
    assert str(copy.outputs[0]) == "(N, 8, 8, 8)"
    layer1 = rows[paths.index("layer1")]
    assert layer1.type_label == "BasicBlock ×2" and layer1.params == 2400
    inner = rows[paths.index("layer1.1.conv1")]
    assert inner.depth == 2 and inner.location == (layer1.node.id, inner.node.id)
    assert sum(r.params or 0 for r in rows if r.depth == 0) == result.total_params


def test_nested_blocks_without_repeat_have_no_copy_rows():
    graph = nested_model()
    rows = summary_rows(graph, analyze(graph))
    deep = next(r for r in rows if r.path == "stage1.unit.conv1")
    assert deep.depth == 2 and len(deep.location) == 3
    assert [r.path for r in rows if r.depth == 1] == ["stage1.unit", "stage1.act"]
