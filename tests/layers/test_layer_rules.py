"""Table-driven checks of the layer catalogue's shape, parameter and MAC rules, errors included.

Each case: layer id, parameters, input specs by port -> expected output shapes, parameter count
and (where given) MACs per example; or the words an error must contain. Parameter counts are the
ones PyTorch reports for the same layer (the compile tests check that against torch itself).
"""

from __future__ import annotations

import pytest

from dlstudio.analysis.analyze import _concrete
from dlstudio.core import TensorSpec
from dlstudio.layers import (
    ShapeContext,
    ShapeError,
    StatContext,
    all_layer_types,
    get_layer_type,
)
from dlstudio.layers.registry import UnknownLayerError

F = "float32"


def T(*shape, dtype=F):
    return TensorSpec(tuple(shape), dtype)


def run_rule(type_id, params, inputs):
    layer = get_layer_type(type_id)
    values, problems = layer.resolve_params(params)
    assert not problems, problems
    result = layer.infer(ShapeContext("node", layer.label, values, inputs))
    sample = {"N": 1, "T": 10, "S": 12}
    ctx = StatContext(
        values,
        {p: _concrete(s, sample) for p, s in inputs.items()},
        {p: _concrete(s, sample) for p, s in result.outputs.items()},
        result.inferred,
    )
    return result, layer.count_params(ctx), layer.count_macs(ctx)


CASES = [
    # id, params, inputs, outputs, params count, macs (None = not checked)
    ("input", {"shape": (1, 28, 28)}, {}, {"out": T("N", 1, 28, 28)}, 0, 0),
    ("input", {"shape": ("T",), "dtype": "int64"}, {}, {"out": T("N", "T", dtype="int64")}, 0, 0),
    ("dense", {"units": 120}, {"in": T("N", 400)}, {"out": T("N", 120)}, 48120, 48000),
    (
        "dense",
        {"units": 8, "bias": False},
        {"in": T("N", "T", 4)},
        {"out": T("N", "T", 8)},
        32,
        320,
    ),
    (
        "conv2d",
        {"out_channels": 6, "kernel_size": 5, "padding": 2},
        {"in": T("N", 1, 28, 28)},
        {"out": T("N", 6, 28, 28)},
        156,
        117600,
    ),
    (
        "conv2d",
        {"out_channels": 64, "kernel_size": 7, "stride": 2, "padding": 3, "bias": False},
        {"in": T("N", 3, 224, 224)},
        {"out": T("N", 64, 112, 112)},
        9408,
        None,
    ),
    (
        "conv2d",
        {"out_channels": 8, "kernel_size": 3, "padding": "same", "groups": 4},
        {"in": T("N", 4, 9, 9)},
        {"out": T("N", 8, 9, 9)},
        8 * 1 * 9 + 8,
        None,
    ),
    (
        "conv2d",
        {"out_channels": 2, "kernel_size": (3, 1), "dilation": 2},
        {"in": T("N", 1, 10, 10)},
        {"out": T("N", 2, 6, 10)},
        8,
        None,
    ),
    (
        "conv1d",
        {"out_channels": 4, "kernel_size": 3, "stride": 2},
        {"in": T("N", 2, "T")},
        {"out": T("N", 4, "(T-3)//2+1")},
        28,
        None,
    ),
    (
        "conv1d",
        {"out_channels": 4, "kernel_size": 3, "padding": "same"},
        {"in": T("N", 2, "T")},
        {"out": T("N", 4, "T")},
        28,
        4 * 10 * 6,
    ),
    (
        "conv_transpose2d",
        {"out_channels": 3, "kernel_size": 4, "stride": 2, "padding": 1},
        {"in": T("N", 8, 7, 7)},
        {"out": T("N", 3, 14, 14)},
        8 * 3 * 16 + 3,
        None,
    ),
    (
        "maxpool2d",
        {"kernel_size": 2},
        {"in": T("N", 6, 28, 28)},
        {"out": T("N", 6, 14, 14)},
        0,
        None,
    ),
    (
        "maxpool2d",
        {"kernel_size": 3, "stride": 2, "padding": 1},
        {"in": T("N", 64, 112, 112)},
        {"out": T("N", 64, 56, 56)},
        0,
        None,
    ),
    ("avgpool1d", {"kernel_size": 4}, {"in": T("N", 3, 17)}, {"out": T("N", 3, 4)}, 0, None),
    (
        "adaptive_avgpool2d",
        {"output_size": 1},
        {"in": T("N", 512, 7, 7)},
        {"out": T("N", 512, 1, 1)},
        0,
        None,
    ),
    ("global_avgpool", {}, {"in": T("N", 512, 7, 7)}, {"out": T("N", 512)}, 0, None),
    ("batchnorm2d", {}, {"in": T("N", 64, 8, 8)}, {"out": T("N", 64, 8, 8)}, 128, None),
    ("batchnorm1d", {"affine": False}, {"in": T("N", 10)}, {"out": T("N", 10)}, 0, None),
    ("layernorm", {}, {"in": T("N", "T", 512)}, {"out": T("N", "T", 512)}, 1024, None),
    ("layernorm", {"bias": False}, {"in": T("N", 32)}, {"out": T("N", 32)}, 32, None),
    ("dropout", {"p": 0.1}, {"in": T("N", 7)}, {"out": T("N", 7)}, 0, 0),
    ("relu", {}, {"in": T("N", 3, 4)}, {"out": T("N", 3, 4)}, 0, 0),
    ("leaky_relu", {"negative_slope": 0.2}, {"in": T("N", 3)}, {"out": T("N", 3)}, 0, 0),
    ("softmax", {}, {"in": T("N", 10)}, {"out": T("N", 10)}, 0, 0),
    ("log_softmax", {"dim": 1}, {"in": T("N", 10)}, {"out": T("N", 10)}, 0, 0),
    ("flatten", {}, {"in": T("N", 16, 5, 5)}, {"out": T("N", 400)}, 0, 0),
    ("flatten", {"start_dim": 2}, {"in": T("N", 64, 4, 4)}, {"out": T("N", 64, 16)}, 0, 0),
    ("flatten", {}, {"in": T("N", "T", 3)}, {"out": T("N", "3*T")}, 0, 0),
    ("reshape", {"shape": (1, 28, 28)}, {"in": T("N", 784)}, {"out": T("N", 1, 28, 28)}, 0, 0),
    ("reshape", {"shape": (4, -1)}, {"in": T("N", 2, 6)}, {"out": T("N", 4, 3)}, 0, 0),
    ("reshape", {"shape": (-1, 4, 16)}, {"in": T("N", "T", 64)}, {"out": T("N", "T", 4, 16)}, 0, 0),
    ("reshape", {"shape": (-1, 2)}, {"in": T("N", "T", 4)}, {"out": T("N", "2*T", 2)}, 0, 0),
    ("permute", {"dims": (0, 2, 1)}, {"in": T("N", 64, 16)}, {"out": T("N", 16, 64)}, 0, 0),
    ("repeat_vector", {"times": 4}, {"in": T("N", 32)}, {"out": T("N", 4, 32)}, 0, 0),
    (
        "add",
        {},
        {"in1": T("N", 64, 8, 8), "in2": T("N", 64, 8, 8)},
        {"out": T("N", 64, 8, 8)},
        0,
        64 * 64,
    ),
    (
        "multiply",
        {"inputs": 3},
        {"in1": T("N", 4), "in2": T("N", 4), "in3": T("N", 4)},
        {"out": T("N", 4)},
        0,
        8,
    ),
    ("concat", {}, {"in1": T("N", 3, 8), "in2": T("N", 5, 8)}, {"out": T("N", 8, 8)}, 0, 0),
    # without a batch axis (an imported model without one) axis 0 is a dimension like another
    ("concat", {"axis": 0}, {"in1": T(2, 3), "in2": T(4, 3)}, {"out": T(6, 3)}, 0, 0),
    (
        "multiply",
        {},
        {"in1": T("N", 64, 7, 7), "in2": T("N", 64, 1, 1)},
        {"out": T("N", 64, 7, 7)},
        0,
        64 * 49,
    ),
    ("add", {}, {"in1": T("N", "T", 8), "in2": T(8)}, {"out": T("N", "T", 8)}, 0, 80),
    ("subtract", {}, {"in1": T(1), "in2": T("N", "T")}, {"out": T("N", "T")}, 0, 10),
    (
        "matmul",
        {},
        {"in1": T("N", 4, "T", 16), "in2": T("N", 4, 16, "S")},
        {"out": T("N", 4, "T", "S")},
        0,
        4 * 10 * 12 * 16,
    ),
    ("matmul", {}, {"in1": T("N", "T", 8), "in2": T(8, 3)}, {"out": T("N", "T", 3)}, 0, 240),
    ("matmul", {}, {"in1": T("N", "T", 8), "in2": T(8)}, {"out": T("N", "T")}, 0, 80),
    (  # attention probabilities @ values: the inner size is the length
        "matmul",
        {},
        {"in1": T("N", 4, "T", "T"), "in2": T("N", 4, "T", 16)},
        {"out": T("N", 4, "T", 16)},
        0,
        4 * 10 * 16 * 10,
    ),
    ("parameter", {"shape": (6, 1, 1)}, {}, {"out": T(6, 1, 1)}, 6, 0),
    ("parameter", {"shape": (6,), "view": (1, 6, 1, 1)}, {}, {"out": T(1, 6, 1, 1)}, 6, 0),
    (
        "dense",
        {"units": 3, "any_rank": True},
        {"in": T("N", 5, 5, 4)},
        {"out": T("N", 5, 5, 3)},
        15,
        25 * 12,
    ),
    ("groupnorm", {"num_groups": 4}, {"in": T("N", 8, 5, 5)}, {"out": T("N", 8, 5, 5)}, 16, 200),
    ("math", {"function": "sqrt"}, {"in": T("N", "T")}, {"out": T("N", "T")}, 0, 10),
    ("constant_op", {"op": "c - x"}, {"in": T("N", 4, dtype="int64")}, {"out": T("N", 4)}, 0, 4),
    ("cast", {"dtype": "bool"}, {"in": T("N", "T")}, {"out": T("N", "T", dtype="bool")}, 0, 0),
    (
        "where",
        {},
        {"condition": T("N", 1, 1, 5, dtype="bool"), "in1": T("N", 2, 4, 5), "in2": T(1)},
        {"out": T("N", 2, 4, 5)},
        0,
        40,
    ),
    (
        "reduce",
        {"dims": (2, 3), "keepdim": True},
        {"in": T("N", 8, 4, 4)},
        {"out": T("N", 8, 1, 1)},
        0,
        128,
    ),
    ("reduce", {"op": "max"}, {"in": T("N", "T", 6)}, {"out": T("N", "T")}, 0, 60),
    (
        "einsum",
        {"equation": "bhqd,bhkd->bhqk"},
        {"in1": T("N", 2, "T", 4), "in2": T("N", 2, "S", 4)},
        {"out": T("N", 2, "T", "S")},
        0,
        2 * 10 * 12 * 4,
    ),
    ("resize", {}, {"in": T("N", 3, "T", 5)}, {"out": T("N", 3, "2*T", 10)}, 0, 3 * 20 * 10),
    ("resize", {"scale_factor": 1.5}, {"in": T("N", 3, 5)}, {"out": T("N", 3, 7)}, 0, 21),
    (
        "conv_transpose1d",
        {"out_channels": 2, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1},
        {"in": T("N", 4, "T")},
        {"out": T("N", 2, "(T-1)*2+2")},
        4 * 2 * 3 + 2,
        4 * 10 * 2 * 3,
    ),
    (
        "scaled_dot_product_attention",
        {"num_heads": 2},
        {"query": T("N", "T", 8), "key": T("N", "S", 8), "value": T("N", "S", 6)},
        {"out": T("N", "T", 6)},
        0,
        10 * 12 * (8 + 6),
    ),
    (
        "scaled_dot_product_attention",
        {"layout": "split"},
        {"query": T("N", 3, "T", 4), "key": T("N", 3, "T", 4), "value": T("N", 3, "T", 4)},
        {"out": T("N", 3, "T", 4)},
        0,
        3 * 10 * 10 * 8,
    ),
    ("gpt2_conv1d", {"units": 12}, {"in": T("N", "T", 4)}, {"out": T("N", "T", 12)}, 60, 480),
    ("instancenorm1d", {"affine": True}, {"in": T("N", 3, "T")}, {"out": T("N", 3, "T")}, 6, 30),
    ("rmsnorm", {}, {"in": T("N", "T", 16)}, {"out": T("N", "T", 16)}, 16, 160),
    ("pad", {"pads": (1, 2, 0, 3)}, {"in": T("N", 3, 4, "T")}, {"out": T("N", 3, 7, "T+3")}, 0, 0),
    (
        "maxpool2d",
        {"kernel_size": 3, "stride": 2, "ceil_mode": True},
        {"in": T("N", 64, 112, 112)},
        {"out": T("N", 64, 56, 56)},
        0,
        64 * 56 * 56 * 9,
    ),
    (
        "avgpool1d",
        {"kernel_size": 3, "stride": 2, "ceil_mode": True},
        {"in": T("N", 2, "T")},
        {"out": T("N", 2, "(T-2)//2+1")},
        0,
        2 * 5 * 3,
    ),
    (
        "split",
        {"outputs": 3},
        {"in": T("N", "T", 10)},
        {"out1": T("N", "T", 4), "out2": T("N", "T", 4), "out3": T("N", "T", 2)},
        0,
        0,
    ),
    ("slice", {"start": 1}, {"in": T("N", "T", 4)}, {"out": T("N", "T-1", 4)}, 0, 0),
    ("slice", {"end": -2}, {"in": T("N", "T")}, {"out": T("N", "T-2")}, 0, 0),
    ("slice", {"step": 2, "dim": -1}, {"in": T("N", 3, 7)}, {"out": T("N", 3, 4)}, 0, 0),
    ("unsqueeze", {"dim": 1}, {"in": T("N", "T")}, {"out": T("N", 1, "T")}, 0, 0),
    ("unsqueeze", {"dim": 0}, {"in": T(4)}, {"out": T(1, 4)}, 0, 0),
    ("transpose", {}, {"in": T("N", 2, "T", 8)}, {"out": T("N", 2, 8, "T")}, 0, 0),
    (
        "expand",
        {"shape": (1, -1, -1)},
        {"in": T(1, 1, 8), "like": T("N", "T", 8)},
        {"out": T("N", 1, 8)},
        0,
        0,
    ),
    ("tile", {"repeats": (1, 3, 1)}, {"in": T("N", "T", 2)}, {"out": T("N", "3*T", 2)}, 0, 0),
    (
        "concat",
        {"axis": -1},
        {"in1": T("N", "T", 8), "in2": T("N", "T", 4)},
        {"out": T("N", "T", 12)},
        0,
        0,
    ),
    (
        "concat",
        {"axis": 1},
        {"in1": T("N", "T", 8), "in2": T("N", "S", 8)},
        {"out": T("N", "T+S", 8)},
        0,
        0,
    ),
]


@pytest.mark.parametrize(
    ("type_id", "params", "inputs", "outputs", "n_params", "macs"),
    CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)],
)
def test_shape_param_and_mac_rules(type_id, params, inputs, outputs, n_params, macs):
    result, count, mac_count = run_rule(type_id, params, inputs)
    assert dict(result.outputs) == outputs
    assert count == n_params
    if macs is not None:
        assert mac_count == macs


ERRORS = [
    (
        "dense",
        {},
        {"in": T("N", 16, 5, 5)},
        ["needs a 2-D input (N, features)", "(N, 16, 5, 5)", "insert Flatten before node"],
    ),
    ("dense", {}, {"in": T("N", "T", dtype="int64")}, ["int64", "insert an Embedding"]),
    ("dense", {}, {"in": T("N", "F")}, ["fixed number of input features", "'F'"]),
    (
        "conv2d",
        {},
        {"in": T("N", 784)},
        ["needs a 4-D input (N, C, H, W)", "(N, 784)", "Reshape to (1, 28, 28)"],
    ),
    (
        "conv2d",
        {"kernel_size": 5},
        {"in": T("N", 1, 3, 3)},
        ["kernel 5x5", "does not fit", "(N, 1, 3, 3)"],
    ),
    (
        "conv2d",
        {"out_channels": 6, "groups": 4},
        {"in": T("N", 4, 8, 8)},
        ["groups=4", "6 output channels"],
    ),
    (
        "conv2d",
        {"padding": "same", "stride": 2},
        {"in": T("N", 1, 8, 8)},
        ["'same' needs stride 1", "2x2"],
    ),
    ("maxpool2d", {"kernel_size": 4}, {"in": T("N", 1, 2, 2)}, ["window 4x4", "larger"]),
    (
        "maxpool2d",
        {"kernel_size": 2, "padding": 2},
        {"in": T("N", 1, 8, 8)},
        ["padding 2", "half the kernel"],
    ),
    ("batchnorm2d", {}, {"in": T("N", 10)}, ["(N, C, H, W)", "(N, 10)"]),
    ("reshape", {"shape": (3, 3)}, {"in": T("N", 10)}, ["cannot reshape (N, 10)", "9 values"]),
    ("reshape", {"shape": (3, -1)}, {"in": T("N", 10)}, ["not divisible by 3"]),
    ("reshape", {"shape": (-1, 5)}, {"in": T("N", "T", 4)}, ["cannot infer -1", "divisible by 5"]),
    ("permute", {"dims": (0, 1)}, {"in": T("N", 2, 3)}, ["ordering of 0..2"]),
    ("repeat_vector", {}, {"in": T("N", "T", 4)}, ["(N, features)", "last step"]),
    (
        "add",
        {},
        {"in1": T("N", 64, 56, 56), "in2": T("N", 128, 28, 28)},
        ["in1 (N, 64, 56, 56)", "in2 (N, 128, 28, 28)", "axis 1 in1 has 64 and in2 has 128"],
    ),
    (
        "multiply",
        {"inputs": 3},
        {"in1": T("N", 4, 1), "in2": T("N", 1, 5), "in3": T("N", 3, 5)},
        ["axis 1 in1 has 4, in2 has 1 and in3 has 3", "equal or 1"],
    ),
    ("subtract", {}, {"in1": T("N", "T", 4), "in2": T("N", 6, 4)}, ["in1 has T and in2 has 6"]),
    (
        "divide",
        {},
        {"in1": T("N", 4), "in2": T("N", 4, dtype="int64")},
        ["in1 is float32 and in2 is int64"],
    ),
    (
        "matmul",
        {},
        {"in1": T("N", "T", 8), "in2": T("N", 6, "S")},
        ["in1 (N, T, 8)", "in2 (N, 6, S)", "last size (8)", "second-to-last size (6)"],
    ),
    (
        "matmul",
        {},
        {"in1": T("N", 2, 3, 4), "in2": T("N", 3, 4, 5)},
        ["axis 1 in1 has 2 and in2 has 3"],
    ),
    ("parameter", {"shape": (3, 0)}, {}, ["at least 1", "(3, 0)"]),
    ("parameter", {"shape": (6,), "view": (4, 1)}, {}, ["view (4, 1)", "6 values"]),
    ("split", {"outputs": 3, "sizes": (2, 2)}, {"in": T("N", 4)}, ["2 sizes (2, 2)", "3 outputs"]),
    ("split", {"sizes": (2, 3)}, {"in": T("N", 6)}, ["add up to 5", "(N, 6) is 6"]),
    ("split", {"outputs": 4}, {"in": T("N", 6)}, ["6", "4 pieces of 2", "at most 3"]),
    ("split", {}, {"in": T("N", "T")}, ["size T is not fixed"]),
    ("split", {"dim": 0}, {"in": T("N", 4)}, ["batch dimension"]),
    ("slice", {"dim": 3}, {"in": T("N", 4)}, ["dim=3", "allows -2..1"]),
    ("slice", {"start": 5}, {"in": T("N", 4)}, ["[5:]", "size 4", "empty"]),
    ("slice", {"end": 3}, {"in": T("N", "T")}, ["[:3]", "size T is not fixed"]),
    ("squeeze", {}, {"in": T("N", 4, 3)}, ["dimension 2 of (N, 4, 3)", "has 3"]),
    ("expand", {"shape": (5, 4)}, {"in": T("N", 3, 4)}, ["fewer than the 3 dimensions"]),
    ("expand", {"shape": (-1, 6, 4)}, {"in": T("N", 3, 4)}, ["dimension 1 has size 3"]),
    (
        "expand",
        {"shape": (1, -1)},
        {"in": T("N", 4), "like": T("N", 4)},
        ["like's batch", "(N, 4) has N"],
    ),
    ("tile", {"repeats": (2,)}, {"in": T("N", 4)}, ["repeats (2,)", "(N, 4) (2)"]),
    ("groupnorm", {"num_groups": 5}, {"in": T("N", 12, 4, 4)}, ["12 is not divisible by 5"]),
    ("math", {"function": "log"}, {"in": T("N", 4, dtype="int64")}, ["int64", "Cast to float32"]),
    ("math", {"function": "clamp"}, {"in": T("N", 4)}, ["neither min nor max"]),
    ("math", {"function": "clamp", "min": 2.0, "max": 1.0}, {"in": T("N", 4)}, ["min 2.0 above"]),
    ("constant_op", {}, {"in": T("N", 4, dtype="bool")}, ["bool", "Cast"]),
    (
        "where",
        {},
        {"condition": T("N", 4, dtype="int64"), "in1": T("N", 4), "in2": T("N", 4)},
        ["bool condition", "int64", "Cast to bool"],
    ),
    (
        "where",
        {},
        {"condition": T("N", 3, dtype="bool"), "in1": T("N", 4), "in2": T("N", 4)},
        ["condition has 3", "in1 has 4"],
    ),
    ("reduce", {"dims": (1, 3)}, {"in": T("N", 4, 5)}, ["dims (1, 3)", "3 is not a dimension"]),
    ("reduce", {"dims": (0,)}, {"in": T("N", 4)}, ["batch dimension"]),
    ("reduce", {"dims": (1, -1)}, {"in": T("N", 4)}, ["twice"]),
    ("einsum", {"equation": "ij->i"}, {"in1": T("N", 4), "in2": T("N", 4)}, ["two operands"]),
    (
        "einsum",
        {"equation": "bij,bjk->bik"},
        {"in1": T("N", 2, 3), "in2": T("N", 4, 5)},
        ["'j' the sizes 3 and 4"],
    ),
    (
        "einsum",
        {"equation": "bij,bjk->bix"},
        {"in1": T("N", 2, 3), "in2": T("N", 3, 5)},
        ["appear once", "x"],
    ),
    (
        "einsum",
        {"equation": "bij,bjk->ikb"},
        {"in1": T("N", 2, 3), "in2": T("N", 3, 5)},
        ["batch first"],
    ),
    ("einsum", {"equation": "bi,bij->bj"}, {"in1": T("N", 2, 3), "in2": T("N", 2, 3)}, ["2 dim"]),
    ("resize", {"mode": "bicubic"}, {"in": T("N", 3, 8)}, ["bicubic", "(N, C, H, W)"]),
    ("resize", {"align_corners": True}, {"in": T("N", 3, 8)}, ["align_corners with mode nearest"]),
    ("resize", {"size": (4, 4)}, {"in": T("N", 3, 8)}, ["exactly one"]),
    ("resize", {"scale_factor": None, "size": (4, 4)}, {"in": T("N", 3, 8)}, ["give 1 sizes"]),
    ("resize", {"scale_factor": 1.5}, {"in": T("N", 3, "T")}, ["not fixed", "whole number"]),
    (
        "conv_transpose1d",
        {"out_channels": 2, "kernel_size": 3, "stride": 2, "output_padding": 2},
        {"in": T("N", 4, 8)},
        ["output_padding 2", "stride (2)", "dilation (1)"],
    ),
    (
        "scaled_dot_product_attention",
        {"num_heads": 5},
        {"query": T("N", "T", 16), "key": T("N", "T", 16), "value": T("N", "T", 16)},
        ["num_heads=5", "does not divide", "set num_heads to 4"],
    ),
    (
        "scaled_dot_product_attention",
        {},
        {"query": T("N", "T", 16), "key": T("N", "S", 8), "value": T("N", "S", 8)},
        ["query (N, T, 16) has 16", "key (N, S, 8) has 8"],
    ),
    (
        "scaled_dot_product_attention",
        {},
        {"query": T("N", "T", 8), "key": T("N", "S", 8), "value": T("N", "T", 8)},
        ["one value per key", "has S steps", "has T"],
    ),
    (
        "scaled_dot_product_attention",
        {},
        {"query": T("N", 2, "T", 8), "key": T("N", 2, "T", 8), "value": T("N", 2, "T", 8)},
        ["(N, T, E) with layout merged", "set layout to split"],
    ),
    (
        "scaled_dot_product_attention",
        {"num_heads": 2},
        {
            "query": T("N", "T", 8),
            "key": T("N", "S", 8),
            "value": T("N", "S", 8),
            "mask": T("N", "T", dtype="int64"),
        },
        ["padding mask (N, S)", "mask is (N, T) int64"],
    ),
    (
        "scaled_dot_product_attention",
        {"num_heads": 2, "mask_type": "additive"},
        {
            "query": T("N", 4, 8),
            "key": T("N", 5, 8),
            "value": T("N", 5, 8),
            "mask": T("N", 3, 4, 5),
        },
        ["broadcast", "at axis 1 mask has 3 and scores has 2"],
    ),
    (
        "scaled_dot_product_attention",
        {"causal": True, "mask_type": "additive"},
        {
            "query": T("N", 4, 8),
            "key": T("N", 4, 8),
            "value": T("N", 4, 8),
            "mask": T(1, 4, 4),
        },
        ["one or the other", "turn causal off"],
    ),
    ("instancenorm2d", {}, {"in": T("N", 3, 8)}, ["(N, C, H, W)", "(N, 3, 8)"]),
    ("rmsnorm", {}, {"in": T("N", 4, "T")}, ["fixed feature size", "'T'"]),
    ("pad", {"pads": (1, 1, 1)}, {"in": T("N", 3, 4)}, ["3 amounts", "two per dimension"]),
    ("pad", {"pads": (1, 1, 1, 1, 1, 1)}, {"in": T("N", 3, 4)}, ["covers 3", "only 2"]),
    (
        "pad",
        {"pads": (4, 0), "mode": "reflect"},
        {"in": T("N", 2, 4)},
        ["at most 3 on each side of dimension 2 (size 4)", "asks 4"],
    ),
    ("pad", {"pads": (-1, 0), "mode": "replicate"}, {"in": T("N", 2, 4)}, ["need mode constant"]),
    ("pad", {"pads": (-2, -2)}, {"in": T("N", 2, 4)}, ["crops dimension 2", "(0)"]),
    (
        "maxpool1d",
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        {"in": T("N", 3, "T")},
        ["ceil_mode", "not fixed", "padding 0"],
    ),
    ("concat", {}, {"in1": T("N", 3, 8), "in2": T("N", 5, 9)}, ["in2 is (N, 5, 9)", "axis 1"]),
    ("concat", {"axis": 0}, {"in1": T("N", 3), "in2": T("N", 3)}, ["axis=0", "non-batch"]),
    ("softmax", {"dim": 3}, {"in": T("N", 3)}, ["dim=3", "only 2 dimensions"]),
    ("flatten", {"start_dim": 2, "end_dim": 1}, {"in": T("N", 2, 3)}, ["start_dim 2 after"]),
]


@pytest.mark.parametrize(
    ("type_id", "params", "inputs", "words"),
    ERRORS,
    ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)],
)
def test_shape_errors_name_every_offending_value(type_id, params, inputs, words):
    with pytest.raises(ShapeError) as info:
        run_rule(type_id, params, inputs)
    for word in words:
        assert word in info.value.message


@pytest.mark.parametrize(
    ("type_id", "params", "words"),
    [
        ("dense", {"units": 0}, "units must be at least 1, got 0"),
        ("dense", {"units": 2.5}, "units must be a whole number, got 2.5"),
        ("conv2d", {"kernel_size": (3, 3, 3)}, "kernel_size must be one number or 2 numbers"),
        ("conv2d", {"padding": "full"}, "padding must be a whole number"),
        ("dropout", {"p": 1.5}, "p must be at most 0.99, got 1.5"),
        (
            "input",
            {"dtype": "complex64"},
            "dtype must be one of 'float32', 'int64', 'float16', 'float64', 'int32', 'int16', "
            "'int8', 'uint8', 'bool'; got 'complex64'",
        ),
        ("input", {"shape": ("N", 3)}, "N is the batch"),
        ("relu", {"alpha": 1}, "has no parameter 'alpha'"),
        ("dense", {"bias": "yes"}, "bias must be true or false"),
    ],
)
def test_parameter_validation_says_what_is_accepted(type_id, params, words):
    _, problems = get_layer_type(type_id).resolve_params(params)
    assert any(words in p for p in problems), problems


def test_every_layer_type_is_documented_and_its_defaults_validate():
    types = all_layer_types()
    assert len(types) >= 30
    for layer in types:
        assert layer.summary and layer.explanation and layer.formula, layer.id
        assert layer.formula in layer.help_text()
        _values, problems = layer.resolve_params({})
        assert not problems, (layer.id, problems)
        for spec in layer.params:
            assert spec.help, (layer.id, spec.name)


def test_unknown_layer_ids_suggest_the_closest():
    with pytest.raises(UnknownLayerError, match="did you mean 'conv2d'"):
        get_layer_type("conv2")


def test_lstm_forget_bias_needs_biases() -> None:
    with pytest.raises(ShapeError) as caught:
        run_rule(
            "lstm", {"hidden_size": 4, "bias": False, "forget_bias": 1.0}, {"in": T("N", 5, 3)}
        )
    assert "turn bias on" in caught.value.message
    assert caught.value.fixes[0].param == "bias"
    # Parameters and MACs do not change: it is only a starting value.
    plain = run_rule("lstm", {"hidden_size": 4}, {"in": T("N", 5, 3)})
    opened = run_rule("lstm", {"hidden_size": 4, "forget_bias": 1.0}, {"in": T("N", 5, 3)})
    assert plain[1:] == opened[1:] == (4 * 4 * (3 + 4 + 2), 5 * 4 * 4 * (3 + 4))
