"""The transposed keys torch's dynamo exporter writes for attention (batch and heads merged,
transposed, split again) import as one Permute, checked against onnxruntime; a Reshape that
merges the batch for good is still refused."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from dlstudio.compile.importers.verify_onnx import import_verified


def _model(path, back: list[int]) -> None:
    """x (N, 4, 5, 8) -> Reshape (-1, 5, 8) -> Transpose (0, 2, 1) -> Reshape ``back``."""
    merged = numpy_helper.from_array(np.array([-1, 5, 8], np.int64), "merged_shape")
    split = numpy_helper.from_array(np.array(back, np.int64), "split_shape")
    nodes = [
        helper.make_node("Reshape", ["x", "merged_shape"], ["merged"], name="merge"),
        helper.make_node("Transpose", ["merged"], ["merged_t"], perm=[0, 2, 1], name="t"),
        helper.make_node("Reshape", ["merged_t", "split_shape"], ["y"], name="split"),
    ]
    graph = helper.make_graph(
        nodes,
        "keys",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, 5, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [merged, split],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))


def test_merged_batch_transpose_is_one_permute(tmp_path) -> None:
    path = tmp_path / "keys.onnx"
    _model(path, [-1, 4, 8, 5])
    result, check = import_verified(path)
    assert result.ok and check.ok, (result.report_lines(), check.lines())
    types = [n.type_id for n in result.graph if n.type_id not in ("input", "output")]
    assert types == ["permute"]
    assert result.graph.node_by_name("split").params["dims"] == [0, 1, 3, 2]


def test_a_reshape_that_keeps_the_batch_merged_is_refused(tmp_path) -> None:
    path = tmp_path / "merged.onnx"
    _model(path, [-1, 8, 5])  # the output stays (N * 4, 8, 5): batch and heads merged
    result, _ = import_verified(path)
    assert not result.ok
    assert any("batch" in line for line in result.report_lines())
