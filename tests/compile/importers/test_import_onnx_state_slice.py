"""An LSTM whose initial state is another LSTM's final state, as torch's dynamo exporter writes
it (``Y_h`` row 0, unsqueezed to (1, N, H), then sliced to its first row): the slice changes
nothing and the state wires the second layer's h0 / c0 ports, checked against onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from dlstudio.compile.importers.verify_onnx import import_verified

HIDDEN, FEATURES = 3, 4


def _weights(rng, name: str) -> list:
    return [
        numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), f"{name}_{part}")
        for part, shape in (
            ("W", (1, 4 * HIDDEN, FEATURES)),
            ("R", (1, 4 * HIDDEN, HIDDEN)),
            ("B", (1, 8 * HIDDEN)),
        )
    ]


def _state(source: str, name: str) -> list:
    """``source`` (1, N, H) -> row 0 (N, H) -> unsqueezed (1, N, H) -> sliced to row 0."""
    return [
        helper.make_node("Gather", [source, "zero"], [f"{name}_row"], axis=0),
        helper.make_node("Unsqueeze", [f"{name}_row", "axis0"], [f"{name}_1nh"]),
        helper.make_node("Slice", [f"{name}_1nh", "zero1", "one1", "axis0"], [name]),
    ]


def test_a_sliced_state_from_another_lstm_wires_h0_and_c0(tmp_path) -> None:
    rng = np.random.default_rng(0)
    constants = [
        numpy_helper.from_array(np.array(0, np.int64), "zero"),
        numpy_helper.from_array(np.array([0], np.int64), "zero1"),
        numpy_helper.from_array(np.array([1], np.int64), "one1"),
        numpy_helper.from_array(np.array([0], np.int64), "axis0"),
        *_weights(rng, "enc"),
        *_weights(rng, "dec"),
    ]
    nodes = [
        helper.make_node("Transpose", ["src"], ["src_t"], perm=[1, 0, 2]),
        helper.make_node(
            "LSTM", ["src_t", "enc_W", "enc_R", "enc_B"], ["", "enc_h", "enc_c"], hidden_size=3
        ),
        *_state("enc_h", "h0"),
        *_state("enc_c", "c0"),
        helper.make_node(
            "LSTM",
            ["src_t", "dec_W", "dec_R", "dec_B", "", "h0", "c0"],
            ["", "dec_h"],
            hidden_size=HIDDEN,
        ),
        helper.make_node("Gather", ["dec_h", "zero"], ["out"], axis=0),
    ]
    graph = helper.make_graph(
        nodes,
        "states",
        [helper.make_tensor_value_info("src", TensorProto.FLOAT, ["N", 5, FEATURES])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
        constants,
    )
    path = tmp_path / "states.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    result, check = import_verified(path)
    assert result.ok and check.ok, (result.report_lines(), check.lines())
    lstms = [n for n in result.graph if n.type_id == "lstm"]
    assert len(lstms) == 2
    wired = {e.dst.port for e in result.graph.edges if e.dst.node == lstms[1].id}
    assert {"h0", "c0"} <= wired
