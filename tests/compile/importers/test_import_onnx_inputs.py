"""ONNX inputs of any rank and dtype onnxruntime runs: a rank-0 or rank-1 input, bool, uint8 and
float16 values; a file that computes on fixed shapes along its first axis imports without a
batch axis when its first axis cannot be the batch. Each import is checked against
onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper

from dlstudio.compile.importers import compile_import
from dlstudio.compile.importers.verify_onnx import import_verified


def _save(tmp_path, name, nodes, inputs, outputs, initializers=(), opset=17):
    graph = helper.make_graph(nodes, name, inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    return path


def _run_both(path, result, feeds):
    want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)
    with torch.no_grad():
        got = compile_import(result).module(*[torch.from_numpy(v) for v in feeds.values()])
    return want[0], got.numpy()


def _input_params(result):
    return [n.params for n in result.graph if n.type_id == "input"]


def test_a_softmax_over_a_vector_imports_without_a_batch_axis(tmp_path) -> None:
    path = _save(
        tmp_path,
        "vector",
        [helper.make_node("Softmax", ["x"], ["y"], axis=0)],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [5])],
    )
    result, check = import_verified(path)
    assert result.ok and check.ok, (result.report_lines(), check.lines())
    assert _input_params(result) == [{"shape": [5], "batch": False}]
    want, got = _run_both(path, result, {"x": np.linspace(-2, 2, 5).astype(np.float32)})
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_a_constant_as_large_as_the_first_axis_means_no_batch_axis(tmp_path) -> None:
    bias = np.arange(12, dtype=np.float32).reshape(3, 4)
    path = _save(
        tmp_path,
        "fixed",
        [helper.make_node("Add", ["x", "b"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 4])],
        [numpy_helper.from_array(bias, "b")],
    )
    result, check = import_verified(path)
    assert result.ok and check.ok, (result.report_lines(), check.lines())
    assert _input_params(result)[0]["batch"] is False
    assert check.sets == ["its own shapes (no batch axis)"]


def test_uint8_bool_and_float16_inputs_keep_their_dtype(tmp_path) -> None:
    cases = [
        (TensorProto.UINT8, np.uint8, "uint8"),
        (TensorProto.BOOL, np.bool_, "bool"),
        (TensorProto.FLOAT16, np.float16, "float16"),
    ]
    for proto, numpy_dtype, name in cases:
        path = _save(
            tmp_path,
            f"t_{name}",
            [helper.make_node("Transpose", ["x"], ["y"], perm=[0, 2, 1])],
            [helper.make_tensor_value_info("x", proto, ["N", 2, 3])],
            [helper.make_tensor_value_info("y", proto, ["N", 3, 2])],
        )
        result, check = import_verified(path)
        assert result.ok and check.ok, (name, result.report_lines(), check.lines())
        assert _input_params(result)[0]["dtype"] == name
        assert check.sets == ["batch 1", "batch 3"]
        x = (np.arange(12).reshape(2, 2, 3) % 2).astype(numpy_dtype)
        want, got = _run_both(path, result, {"x": x})
        assert got.dtype == want.dtype and np.array_equal(got, want)


def test_a_single_number_input(tmp_path) -> None:
    path = _save(
        tmp_path,
        "scalar",
        [helper.make_node("Relu", ["x"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])],
    )
    result, check = import_verified(path)
    assert result.ok and check.ok, (result.report_lines(), check.lines())
    assert _input_params(result) == [{"shape": [], "batch": False}]
