"""One tiny graph per layer type: Input(s) -> layer -> Output(s), with valid inputs.

``CASES[type_id]`` lists variants: the inputs by port (shape without the batch, dtype) and the
layer's parameters. Symbolic sizes ``T`` and ``S`` are bound at several lengths by the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graph_builders import ChainBuilder

from dlstudio.core import LayerGraph
from dlstudio.layers import get_layer_type

F = "float32"
I64 = "int64"
PARAM = "parameter"
"""As an input's dtype: the port is fed by a Parameter of that shape (no batch)."""


@dataclass(frozen=True)
class Case:
    """Inputs by port (shape, dtype) and parameters of the layer under test."""

    inputs: dict[str, tuple[tuple, str]]
    params: dict[str, Any] = field(default_factory=dict)


def _one(in_shape: tuple, /, **params: Any) -> Case:
    return Case({"in": (in_shape, F)}, params)


_SEQ = ("T", 6)
CASES: dict[str, list[Case]] = {
    "dense": [
        _one((8,), units=5),
        _one(("T", 8), units=3, bias=False),
        _one((3, 4, 8), units=2, any_rank=True),
    ],
    "conv1d": [
        _one((3, "T"), out_channels=4, kernel_size=3, stride=2, padding=1),
        _one((2, 12), out_channels=4, kernel_size=3, padding="same", groups=2, bias=False),
    ],
    "conv2d": [
        _one((3, 12, 10), out_channels=4, kernel_size=(3, 5), stride=2, dilation=1),
        _one((4, 9, 9), out_channels=6, kernel_size=3, padding="same", groups=2),
        _one((1, 9, 9), out_channels=2, kernel_size=3, dilation=2, padding="valid"),
    ],
    "conv_transpose2d": [
        _one((4, 5, 5), out_channels=2, kernel_size=3, stride=2, padding=1, output_padding=1),
        _one((2, 4, 6), out_channels=4, kernel_size=2, stride=2, groups=2, bias=False),
    ],
    "maxpool1d": [
        _one((3, "T")),
        _one((3, 11), kernel_size=3, stride=2, padding=1),
        _one((2, "T"), kernel_size=2, stride=2, ceil_mode=True),
    ],
    "maxpool2d": [
        _one((3, 8, 8)),
        _one((3, 9, 7), kernel_size=3, stride=2, padding=1),
        _one((2, 8, 9), kernel_size=3, stride=2, ceil_mode=True),  # GoogLeNet, SqueezeNet
        _one((2, 9, 9), kernel_size=2, stride=2, padding=1, dilation=2, ceil_mode=True),
    ],
    "avgpool1d": [
        _one((3, 10), kernel_size=3, stride=1),
        _one((2, "T"), kernel_size=3, stride=2, ceil_mode=True),
        _one((2, 7), kernel_size=3, stride=2, padding=1, count_include_pad=False),
    ],
    "avgpool2d": [
        _one((3, 8, 8)),
        _one((2, 9, 9), kernel_size=3, stride=2, padding=1),
        _one((2, 7, 6), kernel_size=3, stride=2, padding=1, ceil_mode=True),
        _one((2, 5, 5), kernel_size=3, stride=1, padding=1, count_include_pad=False),
    ],
    "adaptive_avgpool2d": [_one((3, 9, 7), output_size=(2, 3)), _one((3, 5, 5))],
    "global_avgpool": [_one((3, 5, 5)), _one((4, "T"))],
    "batchnorm1d": [_one((6,)), _one((6, "T"), affine=False, eps=1e-3, momentum=0.2)],
    "batchnorm2d": [_one((3, 4, 4))],
    "layernorm": [
        _one(_SEQ),
        _one((8,), bias=False),
        _one((8,), elementwise_affine=False),
        _one(_SEQ, eps=1e-12),
    ],
    "dropout": [_one((5,), p=0.3)],
    "relu": [_one((3, "T"))],
    "leaky_relu": [_one((5,), negative_slope=0.2)],
    "gelu": [_one(_SEQ), _one(_SEQ, approximate="tanh")],
    "tanh": [_one((5,))],
    "sigmoid": [_one((5,))],
    "relu6": [_one((3, "T"))],
    "silu": [_one(_SEQ)],
    "hardswish": [_one((2, 4, 4))],
    "hardsigmoid": [_one((5,))],
    "elu": [_one((5,)), _one((3, "T"), alpha=0.5)],
    "celu": [_one((5,)), _one((3, "T"), alpha=2.0)],
    "selu": [_one((5,)), _one((3, "T"), alpha=2.0, gamma=3.0)],
    "softplus": [_one((3, "T"))],
    "softsign": [_one((5,))],
    "mish": [_one((2, 4, 4))],
    "thresholded_relu": [_one((5,)), _one((3, "T"), alpha=-0.5)],
    "scaled_hardsigmoid": [_one((5,)), _one((3, "T"), alpha=0.5, beta=0.6)],
    "dropout2d": [_one((3, 4, 4), p=0.2)],
    "identity": [_one((3, "T")), Case({"in": (("T",), I64)})],
    "softmax": [_one((5,)), _one((3, "T"), dim=1)],
    "log_softmax": [_one((5,))],
    "flatten": [_one((2, 3, 4)), _one((2, 3, 4), start_dim=2), _one(("T", 3, 2), start_dim=2)],
    "reshape": [
        _one((12,), shape=(3, -1)),
        _one((2, 3, 4), shape=(24,)),
        _one(("T", 12), shape=(-1, 3, 4)),  # attention heads of a sequence of any length
    ],
    "permute": [_one((3, "T")), _one((2, 3, 4), dims=(0, 3, 1, 2))],
    "repeat_vector": [_one((5,), times=3)],
    "add": [
        Case({"in1": ((4, "T"), F), "in2": ((4, "T"), F)}),
        Case({"in1": ((3,), F), "in2": ((3,), F), "in3": ((3,), F)}, {"inputs": 3}),
        Case({"in1": ((4, 1, 1), F), "in2": ((4, 5, 3), F)}),
        Case({f"in{i}": ((2, "T"), F) for i in range(1, 10)}, {"inputs": 9}),
    ],
    "multiply": [
        Case({"in1": ((4,), F), "in2": ((4,), F)}),
        Case({"in1": ((4, 1, 1), PARAM), "in2": ((4, 3, 3), F)}),  # LayerScale
        # squeeze-and-excitation: channel weights (N, C, 1, 1) scale the maps (N, C, H, W)
        Case({"in1": ((4, 5, 3), F), "in2": ((4, 1, 1), F)}),
        Case({"in1": ((1, "T"), F), "in2": ((3, 1), F), "in3": ((3, "T"), F)}, {"inputs": 3}),
    ],
    "concat": [
        Case({"in1": ((2, 5), F), "in2": ((3, 5), F), "in3": ((1, 5), F)}, {"inputs": 3}),
        Case({"in1": (("T", 2), F), "in2": (("T", 3), F)}, {"axis": -1}),
        # DenseNet joins more than eight tensors
        Case({f"in{i}": ((i, 3, 3), F) for i in range(1, 11)}, {"inputs": 10}),
    ],
    "subtract": [
        Case({"in1": ((4, "T"), F), "in2": ((4, 1), F)}),
        Case({"in1": ((1, 1), F), "in2": ((3, 5), F)}),
    ],
    "divide": [Case({"in1": ((2, 3, 4), F), "in2": ((1, 3, 1), F)})],
    "matmul": [
        Case({"in1": ((2, "T", 4), F), "in2": ((2, 4, "S"), F)}),
        Case({"in1": ((1, 3, 4), F), "in2": ((2, 4, 5), F)}),
        Case({"in1": ((3, 4), F), "in2": ((4, 2), F)}),
    ],
    "split": [
        _one(("T", 24), outputs=3),
        _one((5, "T"), outputs=2, dim=1),
        _one((2, 8, 3), dim=2, outputs=3, sizes=(2, 5, 1)),
    ],
    "slice": [
        _one((6, 4), start=1, end=5, step=2),
        _one(("T", 4), end=-1),
        _one(("T", 4), start=2),
        _one(("T", 4), start=-2),
        _one((3, 7), dim=-1, start=-5, end=-1, step=3),
    ],
    "squeeze": [_one((4, 1)), _one((1, "T"), dim=1)],
    "unsqueeze": [_one((4,)), _one(("T", 4), dim=1), _one((3, 2), dim=-2)],
    "transpose": [_one((2, "T", 4)), _one((2, 3, 4), dim0=1, dim1=3)],
    "expand": [
        _one((4, 1), shape=(-1, -1, 5)),
        _one((1, 3), shape=(2, -1, 6, -1)),
        Case({"in": ((1, 1, 4), PARAM), "like": (("T", 4), F)}, {"shape": (1, -1, -1)}),
        Case({"in": ((3, 1), PARAM)}, {"shape": (2, -1, 5)}),
    ],
    "tile": [_one((2, 3), repeats=(1, 2, 3)), _one(("T",), repeats=(2, 1, 2))],
    "groupnorm": [
        _one((6, 4, 4), num_groups=3),
        _one((4, "T"), num_groups=2, affine=False, eps=1e-3),
        _one((4,), num_groups=1),
    ],
    "instancenorm1d": [_one((3, "T")), _one((3, 7), affine=True, track_running_stats=True)],
    "instancenorm2d": [_one((3, 5, 4), affine=True), _one((2, 4, 4), eps=1e-3)],
    "rmsnorm": [_one(("T", 8)), _one((6,), eps=1e-6, elementwise_affine=False)],
    "local_response_norm": [_one((7, 4, 4)), _one((5, "T"), size=3, alpha=0.01, beta=0.5, k=2.0)],
    "stochastic_depth": [_one((3, 4, 4), p=0.2), _one(("T", 4), p=0.5, mode="batch")],
    "pad": [
        _one((3, 5, 4), pads=(1, 2, 0, 3), value=0.5),
        _one((3, 5, 4), pads=(2, 1, 1, 3), mode="reflect"),
        _one((2, "T"), pads=(1, 2), mode="replicate"),
        _one((2, 4, 5), pads=(2, 2, 1, 0), mode="circular"),
        _one((3, 6), pads=(-1, 2)),
    ],
    "scaled_dot_product_attention": [
        Case(
            {"query": (("T", 8), F), "key": (("S", 8), F), "value": (("S", 6), F)},
            {"num_heads": 2},
        ),
        Case(
            {"query": (("T", 8), F), "key": (("T", 8), F), "value": (("T", 8), F)},
            {"num_heads": 4, "causal": True, "dropout": 0.1},
        ),
        Case(
            {
                "query": (("T", 8), F),
                "key": (("T", 8), F),
                "value": (("T", 8), F),
                "mask": (("T",), I64),
            },
            {"num_heads": 2, "causal": True},
        ),
        Case(
            {"query": ((4, 8), F), "key": ((5, 8), F), "value": ((5, 8), F), "mask": ((5,), I64)},
            {"num_heads": 2},
        ),
        Case(
            {
                "query": ((4, 6), F),
                "key": ((5, 6), F),
                "value": ((5, 6), F),
                "mask": ((1, 1, 5), F),
            },
            {"num_heads": 3, "mask_type": "additive"},
        ),
        Case(
            {"query": ((2, "T", 4), F), "key": ((2, "T", 4), F), "value": ((2, "T", 3), F)},
            {"layout": "split", "causal": True, "scale": 0.5},
        ),
    ],
    "gpt2_conv1d": [_one(("T", 8), units=24), _one((5,), units=3)],
    "conv_transpose1d": [
        _one((4, "T"), out_channels=2, kernel_size=3, stride=2, padding=1, output_padding=1),
        _one((4, 6), out_channels=6, kernel_size=2, stride=3, groups=2, dilation=2, bias=False),
    ],
    "math": [_one((3, "T"), function=f) for f in ("exp", "neg", "abs", "sin", "cos", "erf")]
    + [_one((4,), function=f) for f in ("tan", "atan", "sinh", "cosh", "asinh", "sign")]
    + [_one((4,), function=f) for f in ("floor", "ceil", "round")]
    + [
        _one((4,), function="pow", exponent=3.0),
        _one((4,), function="pow", exponent=-2.0),
        _one((4,), function="clamp", min=-0.5),
        _one((4,), function="clamp", min=-0.5, max=0.25),
        Case({"in": ((4,), I64)}, {"function": "clamp", "max": 3.0}),
    ],
    "constant_op": [
        _one((3, "T"), op=op, value=v)
        for op, v in (
            ("x + c", 0.5),
            ("x - c", 2.0),
            ("c - x", 1.0),
            ("x * c", 0.125),
            ("x / c", 4.0),
            ("c / x", -3.0),
        )
    ]
    + [Case({"in": (("T",), I64)}, {"op": "c - x", "value": 1.0})],
    "cast": [
        _one((3,), dtype="int64"),
        _one((3,), dtype="float16"),
        _one((3,), dtype="bool"),
        Case({"in": (("T",), I64)}, {"dtype": "float32"}),
    ],
    "compare": [
        Case({"in1": ((3, "T"), F), "in2": ((3, 1), F)}),
        Case({"in1": ((4,), F), "in2": ((4,), F)}, {"op": "greater_equal"}),
        Case({"in1": ((2, 3), I64), "in2": ((2, 3), I64)}, {"op": "equal"}),
        Case({"in1": ((5,), F), "in2": ((1,), F)}, {"op": "not_equal"}),
    ],
    "logical": [
        Case({"in1": (("T",), "bool"), "in2": ((1,), "bool")}),
        Case({"in1": ((4,), "bool"), "in2": ((4,), "bool")}, {"op": "or"}),
        Case({"in1": ((4,), "bool"), "in2": ((4,), "bool")}, {"op": "xor"}),
    ],
    "value_test": [_one((3, "T")), _one((4,), test="posinf"), _one((4,), test="inf")],
    "logical_not": [Case({"in": ((3, "T"), "bool")})],
    "maximum": [
        Case({"in1": ((3, "T"), F), "in2": ((3, 1), F)}),
        Case({"in1": ((4,), F), "in2": ((4,), F), "in3": ((1,), F)}, {"inputs": 3}),
    ],
    "minimum": [Case({"in1": ((3, "T"), F), "in2": ((3, 1), PARAM)})],
    "argmax": [
        _one((3, "T")),
        _one((3, 4), op="min", dim=1, keepdim=True),
        Case({"in": ((2, 5), I64)}, {"dim": -1}),
        Case({"in": ((2, 5), I64)}, {"op": "min", "dim": 2, "last": True}),
    ],
    "triangle": [
        _one((4, 4)),
        _one((2, 3, 5), part="lower", diagonal=-1),
        _one(("T", "T"), diagonal=1),
        Case({"in": ((3, 3), I64)}, {"part": "lower"}),
    ],
    "cumsum": [
        _one((3, "T")),
        _one((3, 4), dim=1, reverse=True),
        _one((3, 4), exclusive=True, reverse=True),
        Case({"in": (("T",), I64)}, {"exclusive": True}),
    ],
    "gather_elements": [  # example ids stay below 10, so the gathered size is at least 10
        Case({"in": ((12, "T"), F), "index": ((2, "T"), I64)}, {"dim": 1}),
        Case({"in": ((3, 12), F), "index": ((3, 4), I64)}),
    ],
    "where": [
        Case({"condition": ((1, "T"), "bool"), "in1": ((3, "T"), F), "in2": ((3, 1), F)}),
    ],
    "reduce": [
        _one((3, 4, 5), dims=(2, 3), keepdim=True),
        _one((3, "T"), op="sum", dims=(-1,)),
        _one((3, 4), op="max", dims=(1,)),
        _one((3, 4), op="min", dims=(2, 1)),
        _one((3, 4), op="prod", dims=(1,), keepdim=True),
        _one((3, "T"), op="l1", dims=(1, 2)),
        _one((3, 4), op="l2", dims=(-1,)),
        _one((3, 4), op="sum_square", dims=(2,), keepdim=True),
        _one((3, 4), op="logsumexp", dims=(1, 2)),
    ],
    "einsum": [
        Case({"in1": ((2, "T", 4), F), "in2": ((2, "S", 4), F)}, {"equation": "bhqd,bhkd->bhqk"}),
        Case({"in1": ((3, 4), F), "in2": ((4, 5), F)}),
        Case({"in1": (("T", 4), F), "in2": (("T", 4), F)}, {"equation": "btd,btd->bt"}),
    ],
    "resize": [
        _one((2, 3, 4)),
        _one((2, 3, 4), mode="linear", scale_factor=1.5, align_corners=True),
        _one((2, "T"), mode="linear", scale_factor=3.0),
        _one((2, 5, 5), mode="bicubic", scale_factor=None, size=(7, 3)),
        _one((2, 5, 4), mode="nearest-exact", scale_factor=0.5),
    ],
    "parameter": [
        Case({}, {"shape": (3, 1, 1), "value": 0.5}),
        Case({}, {"init": "normal"}),
        Case({}, {"shape": (3,), "view": (1, 3, 1), "init": "normal"}),
    ],
    "constant": [
        Case({}, {"shape": (3, 2), "value": 2.0}),
        Case({}, {"shape": (4,), "dtype": "bool", "value": 1.0}),
        Case({}, {"shape": (2, 1), "dtype": "float16", "value": 0.5}),
        Case({}, {"shape": (5,), "dtype": "uint8", "value": 7.0}),
    ],
    "embedding": [
        Case({"in": (("T",), I64)}, {"num_embeddings": 20, "embedding_dim": 8}),
        Case({"in": ((4,), I64)}, {"num_embeddings": 9, "embedding_dim": 3, "padding_idx": 0}),
    ],
    "position_ids": [
        Case({"in": (("T",), I64)}, {"padding_idx": 1}),
        Case({"in": ((6,), I64)}, {"padding_idx": 0}),
    ],
    "positional_encoding": [
        _one(("T", 8), max_len=64),
        _one(("T", 6), mode="learned", max_len=40, dropout=0.0),
        _one((5, 6), mode="learned", max_len=5, dropout=0.0, bare=True),  # ViT's pos_embedding
    ],
    "cls_token": [_one(_SEQ), _one(_SEQ, bare=True)],
    "select_step": [_one(_SEQ), _one(_SEQ, which="first"), _one(_SEQ, which="index", index=1)],
    "mean_over_time": [_one(_SEQ)],
    "multihead_attention": [
        Case({"query": (("T", 8), F)}, {"num_heads": 2}),
        Case({"query": (("T", 8), F)}, {"num_heads": 4, "causal": True, "bias": False}),
        Case({"query": (("T", 8), F), "key": (("S", 8), F)}, {"num_heads": 2}),
        Case(
            {"query": (("T", 8), F), "key": (("S", 8), F), "value": (("S", 8), F)},
            {"num_heads": 1, "dropout": 0.1},
        ),
        Case({"query": (("T", 8), F), "mask": (("T",), I64)}, {"num_heads": 2, "causal": True}),
        Case(
            {"query": (("T", 8), F), "key": (("S", 8), F), "mask": (("S",), I64)},
            {"num_heads": 2},
        ),
        Case({"query": (("T", 8), F)}, {"num_heads": 2, "attention_weights": "mean"}),
        Case(
            {"query": (("T", 8), F), "key": (("S", 8), F), "mask": (("S",), I64)},
            {"num_heads": 4, "attention_weights": "per_head", "bias": False},
        ),
        Case(
            {"query": (("T", 8), F), "mask": (("T",), I64)},
            {"num_heads": 2, "causal": True, "attention_weights": "mean"},
        ),
    ],
    "transformer_encoder_layer": [
        _one(("T", 8), nhead=2, dim_feedforward=16),
        _one(
            ("T", 8), nhead=4, dim_feedforward=12, causal=True, norm_first=True, activation="gelu"
        ),
        Case(
            {"in": (("T", 8), F), "mask": (("T",), I64)},
            {"nhead": 2, "dim_feedforward": 8, "activation": "gelu_tanh", "layer_norm_eps": 1e-12},
        ),
        _one(("T", 8), nhead=2, dim_feedforward=16, attention_weights="mean"),
        Case(
            {"in": (("T", 8), F), "mask": (("T",), I64)},
            {"nhead": 4, "dim_feedforward": 8, "norm_first": True, "attention_weights": "per_head"},
        ),
    ],
    "transformer_decoder_layer": [
        Case({"in": (("T", 8), F), "memory": (("S", 8), F)}, {"nhead": 2, "dim_feedforward": 16}),
        Case(
            {"in": (("T", 8), F), "memory": (("S", 8), F)},
            {"nhead": 2, "dim_feedforward": 8, "norm_first": True, "causal": False},
        ),
        Case(
            {
                "in": (("T", 8), F),
                "memory": (("S", 8), F),
                "mask": (("T",), I64),
                "memory_mask": (("S",), I64),
            },
            {"nhead": 2, "dim_feedforward": 8, "activation": "gelu_tanh", "layer_norm_eps": 1e-6},
        ),
        Case(
            {"in": (("T", 8), F), "memory": (("S", 8), F)},
            {"nhead": 2, "dim_feedforward": 16, "attention_weights": "mean"},
        ),
        Case(
            {"in": (("T", 8), F), "memory": (("S", 8), F), "memory_mask": (("S",), I64)},
            {"nhead": 2, "dim_feedforward": 8, "norm_first": True, "attention_weights": "per_head"},
        ),
    ],
}

for _kind in ("rnn", "lstm", "gru"):
    CASES[_kind] = [
        _one(_SEQ, hidden_size=5),
        _one(_SEQ, hidden_size=4, return_sequences=True, bidirectional=True),
        _one(_SEQ, hidden_size=3, num_layers=2, dropout=0.1, bidirectional=True, bias=False),
    ]
CASES["rnn"].append(_one(_SEQ, hidden_size=3, nonlinearity="relu", return_sequences=True))
CASES["lstm"].append(Case({"in": (_SEQ, F), "h0": ((5,), F), "c0": ((5,), F)}, {"hidden_size": 5}))
CASES["lstm"].append(_one(_SEQ, hidden_size=4, forget_bias=1.0, bidirectional=True))
CASES["gru"].append(Case({"in": (_SEQ, F), "h0": ((3,), F)}, {"hidden_size": 3}))

STRUCTURAL = ("input", "output", "placeholder")
"""Types without a parity case: they are wiring, or (placeholder) never compile."""


def case_graph(type_id: str, case: Case, seq_lens: dict[str, int]) -> tuple[LayerGraph, str]:
    """Inputs (document order by port) -> the layer -> one Output per output port."""
    b = ChainBuilder(f"case_{type_id}")
    layer_type = get_layer_type(type_id)
    input_ids = {}
    if all(dtype == PARAM for _, dtype in case.inputs.values()):  # the model needs an Input
        b.add("input", "input_unused", shape=(1,))
    for port, (shape, dtype) in case.inputs.items():
        if dtype == PARAM:  # a learned tensor without a batch (a class token, LayerScale)
            input_ids[port] = b.add("parameter", f"input_{port}", shape=shape, init="normal")
            continue
        if dtype == "bool":  # 0/1 ids made bool: an Input holds float32 or int64 only
            ids = b.add("input", f"input_{port}", shape=shape, dtype=I64, vocab_size=2)
            input_ids[port] = b.add("cast", f"bool_{port}", dtype="bool")
            b.wire(ids, input_ids[port])
            continue
        symbol = next((d for d in shape if isinstance(d, str)), None)
        params: dict[str, Any] = {"shape": shape, "dtype": dtype}
        if symbol:
            params["seq_len"] = seq_lens[symbol]
        input_ids[port] = b.add("input", f"input_{port}", **params)
    node = b.add(type_id, layer_type.prefix + "1", **case.params)
    for port, input_id in input_ids.items():
        b.wire(input_id, node, dst_port=port)
    params = {**layer_type.defaults(), **case.params}
    for out_port in layer_type.output_ports(params):
        out = b.add("output", f"output_{out_port.name}")
        b.wire(node, out, src_port=out_port.name)
    return b.graph, node
