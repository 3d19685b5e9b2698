"""The layers' numbers, against torch's own functions (tests/compile/layer_references.py), and
their ONNX export, against onnxruntime: every case of every layer type with a reference."""

from __future__ import annotations

import pytest
import torch
from layer_cases import CASES, PARAM, case_graph
from layer_references import REFERENCES

from dlstudio.compile import compile_graph, export_onnx, make_inputs

LENGTHS = {"T": 5, "S": 3}
ONNX_FIRST_CASE_ONLY = {"rmsnorm"}
"""Layers whose export takes the slow exporter (dynamo) and whose other cases change nothing
the exporter sees: their first case is exported, the rest are checked against torch only."""


def _cases() -> list[tuple[str, int]]:
    return [(type_id, i) for type_id in REFERENCES for i in range(len(CASES[type_id]))]


@pytest.mark.parametrize(("type_id", "index"), _cases())
def test_outputs_equal_torch_and_onnxruntime(type_id: str, index: int, tmp_path) -> None:
    case = CASES[type_id][index]
    graph, node_id = case_graph(type_id, case, LENGTHS)
    compiled = compile_graph(graph)
    module = compiled.module.eval()
    inputs = list(make_inputs(compiled.code.inputs, 2, LENGTHS))
    state = module.state_dict()
    attr = compiled.code.attrs[node_id]
    weights = {k[len(attr) + 1 :]: v for k, v in state.items() if k.split(".")[0] == attr}
    fed = iter(inputs)
    operands = []  # in port order: the Inputs' tensors (made bool) and the Parameters' values
    for port, (_, dtype) in case.inputs.items():
        if dtype == PARAM:
            operands.append(state[compiled.code.attrs[graph.node_by_name(f"input_{port}").id]])
        else:
            operands.append(next(fed).bool() if dtype == "bool" else next(fed))
    with torch.no_grad():
        got = module(*inputs)
        params = dict(compiled.analysis.nodes[node_id].params)
        expected = REFERENCES[type_id](operands, params, weights)
    got = got if isinstance(got, tuple) else (got,)
    expected = expected if isinstance(expected, tuple) else (expected,)
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g.shape == e.shape and g.dtype == e.dtype, (g.shape, e.shape)
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-6)
    exported_once = type_id in ONNX_FIRST_CASE_ONLY and index > 0
    if any(dtype != PARAM for _, dtype in case.inputs.values()) and not exported_once:
        report = export_onnx(compiled, tmp_path / "layer.onnx")
        assert report.ok, report.message
