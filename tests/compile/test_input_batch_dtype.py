"""An Input may hold any dtype an imported model takes, and may have no batch axis: its shape is
then the whole tensor. The analysis, the generated example_inputs and the compiled module all
follow it."""

from __future__ import annotations

import torch
from graph_builders import ChainBuilder

from dlstudio.analysis import analyze
from dlstudio.compile import compile_graph
from dlstudio.compile.build import load_generated
from dlstudio.core.tensor_spec import TensorSpec


def _graph(layer: str = "relu", **input_params):
    b = ChainBuilder("plain")
    b.chain(("input", "x", input_params), (layer, "relu", {}), ("output", "y", {}))
    return b.graph


def test_without_a_batch_axis_the_shape_is_the_whole_tensor() -> None:
    graph = _graph(shape=(3, 4), batch=False)
    out = analyze(graph).nodes[graph.node_by_name("relu").id].outputs["out"]
    assert out == TensorSpec((3, 4))
    compiled = compile_graph(graph)
    assert compiled.input_specs == [TensorSpec((3, 4))]
    example = load_generated(compiled.code).example_inputs()
    assert [tuple(t.shape) for t in example] == [(3, 4)]  # no batch size to add
    x = torch.randn(3, 4)
    assert torch.equal(compiled.module(x), torch.relu(x))


def test_a_single_number_and_a_batch_of_numbers() -> None:
    scalar = compile_graph(_graph(shape=(), batch=False))
    assert scalar.input_specs == [TensorSpec(())]
    assert load_generated(scalar.code).example_inputs()[0].shape == ()
    numbers = compile_graph(_graph(shape=()))
    assert numbers.input_specs == [TensorSpec(("N",))]
    assert load_generated(numbers.code).example_inputs(5)[0].shape == (5,)


def test_other_dtypes_flow_through_and_example_inputs_take_them() -> None:
    for dtype, torch_dtype in (
        ("float16", torch.float16),
        ("uint8", torch.uint8),
        ("bool", torch.bool),
    ):
        graph = _graph("flatten", shape=(2, 2), dtype=dtype)  # ReLU takes floats only
        out = analyze(graph).nodes[graph.node_by_name("relu").id].outputs["out"]
        assert out == TensorSpec(("N", 4), dtype)
        compiled = compile_graph(graph)
        (example,) = load_generated(compiled.code).example_inputs(3)
        assert example.dtype == torch_dtype and example.shape == (3, 2, 2)
        assert compiled.module(example).dtype == torch_dtype
