"""Every registered layer type, both ways: torch produces exactly the shape the analysis
predicts (at several batch sizes and lengths), and the analysis counts its parameters."""

from __future__ import annotations

import pytest
import torch
from layer_cases import CASES, STRUCTURAL, case_graph

from dlstudio.analysis import analyze
from dlstudio.compile import compile_graph, make_inputs
from dlstudio.compile.emitters import EMITTERS
from dlstudio.core.tensor_spec import bind_dim
from dlstudio.layers import all_layer_types

LAYER_IDS = [t.id for t in all_layer_types() if t.id not in STRUCTURAL]
# (batch, lengths): the example the analysis used, then another batch and other lengths.
SIZES = [(2, {"T": 5, "S": 7}), (3, {"T": 9, "S": 4}), (1, {"T": 2, "S": 1})]


def test_every_layer_type_has_an_emitter_and_a_case() -> None:
    missing_emitters = [i for i in LAYER_IDS if i not in EMITTERS]
    missing_cases = [i for i in LAYER_IDS if i not in CASES]
    assert not missing_emitters, (
        f"add emitters in dlstudio/compile/emitters/ for {missing_emitters}"
    )
    assert not missing_cases, (
        f"add parity cases in tests/compile/layer_cases.py for {missing_cases}"
    )


@pytest.mark.parametrize("type_id", LAYER_IDS)
def test_shapes_and_param_counts_match_the_analysis(type_id: str) -> None:
    assert type_id in CASES, f"no parity case for {type_id}"
    for case in CASES[type_id]:
        graph, node_id = case_graph(type_id, case, SIZES[0][1])
        result = analyze(graph)
        assert not result.has_errors, [d.message for d in result.errors]
        compiled = compile_graph(graph, result)
        module = compiled.module.eval()
        params = sum(p.numel() for p in module.parameters())
        assert params == sum(info.param_count or 0 for info in result.nodes.values())
        # The layer's weights are its own (and those of the Parameters feeding it).
        owners = {compiled.code.attrs[node_id]} | {
            compiled.code.attrs[n.id] for n in graph if n.type_id == "parameter"
        }
        assert all(k.split(".")[0] in owners for k in module.state_dict()), (type_id, case)
        for batch, lengths in SIZES:
            inputs = make_inputs(compiled.code.inputs, batch, lengths)
            with torch.no_grad():
                outputs = module(*inputs)
            outputs = outputs if isinstance(outputs, tuple) else (outputs,)
            sizes = {"N": batch, **lengths}
            for spec, tensor in zip(compiled.output_specs, outputs, strict=True):
                expected = tuple(bind_dim(d, sizes) for d in spec.shape)
                assert tuple(tensor.shape) == expected, (type_id, case, batch, lengths)
                assert str(tensor.dtype) == f"torch.{spec.dtype}"
