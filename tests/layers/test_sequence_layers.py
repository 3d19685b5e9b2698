"""Sequence layer types (embedding, recurrent, attention, sequence reductions) against PyTorch.

Each case predicts output shapes (with symbols), counts parameters like the torch module does,
and runs a reference torch forward pass to confirm the predicted shapes once symbols are bound.
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import torch
from graph_builders import ChainBuilder
from torch import nn

from dlstudio.analysis import analyze
from dlstudio.core.tensor_spec import TensorSpec, bind_dim
from dlstudio.layers import (
    ShapeContext,
    ShapeError,
    ShapeResult,
    StatContext,
    get_layer_type,
)

MY_IDS = (
    "embedding",
    "positional_encoding",
    "cls_token",
    "rnn",
    "lstm",
    "gru",
    "multihead_attention",
    "transformer_encoder_layer",
    "transformer_decoder_layer",
    "select_step",
    "mean_over_time",
)

STAT_BINDINGS = {"N": 1, "T": 7, "S": 5}
"""Like the analysis: batch 1, symbols bound to an example length."""

RUN_BINDINGS = {"N": 2, "T": 7, "S": 5}
"""For the torch forward pass: batch 2 so batch mix-ups show."""

F32 = "float32"
I64 = "int64"


def spec(*shape: Any, dtype: str = F32) -> TensorSpec:
    """A TensorSpec from its sizes."""
    return TensorSpec(tuple(shape), dtype)


def run_rule(type_id: str, params: dict[str, Any], inputs: dict[str, TensorSpec]) -> ShapeResult:
    """Resolve parameters (which must be valid) and apply the layer's shape rule."""
    layer = get_layer_type(type_id)
    values, problems = layer.resolve_params(params)
    assert not problems, problems
    return layer.infer(ShapeContext("x1", layer.label, values, inputs))


def concrete(shape: tuple[Any, ...], bindings: dict[str, int]) -> tuple[int, ...]:
    """A shape with its symbols bound."""
    dims = tuple(bind_dim(d, bindings) for d in shape)
    assert None not in dims, shape
    return dims  # type: ignore[return-value]


def stat_context(
    type_id: str, params: dict[str, Any], inputs: dict[str, TensorSpec], result: ShapeResult
) -> StatContext:
    """The StatContext the analysis would build for this node."""
    values, _ = get_layer_type(type_id).resolve_params(params)
    ins = {p: concrete(s.shape, STAT_BINDINGS) for p, s in inputs.items()}
    outs = {p: concrete(s.shape, STAT_BINDINGS) for p, s in result.outputs.items()}
    return StatContext(values, ins, outs, result.inferred)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny modules run fastest on one thread; several threads spin for ~1 s on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def torch_count(module: nn.Module) -> int:
    """What PyTorch reports as the module's parameter count."""
    return sum(p.numel() for p in module.parameters())


# ------------------------------------------------------------ reference torch modules
def causal_mask(steps: int) -> torch.Tensor:
    """The additive mask that hides future positions (-inf above the diagonal)."""
    return nn.Transformer.generate_square_subsequent_mask(steps)


class RecurrentRef(nn.Module):
    """nn.RNN/LSTM/GRU with the catalogue's ports: ``out`` per return_sequences, ``state``."""

    def __init__(self, cls: type[nn.Module], p: dict[str, Any], input_size: int) -> None:
        super().__init__()
        extra = {"nonlinearity": p["nonlinearity"]} if "nonlinearity" in p else {}
        self.rnn = cls(
            input_size,
            p["hidden_size"],
            num_layers=p["num_layers"],
            bias=p["bias"],
            batch_first=True,
            dropout=p["dropout"],
            bidirectional=p["bidirectional"],
            **extra,
        )
        self.return_sequences = p["return_sequences"]
        self.hidden = p["hidden_size"]
        self.bidirectional = p["bidirectional"]

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Both output ports."""
        seq, h_n = self.rnn(x)
        if isinstance(h_n, tuple):  # LSTM: (h_n, c_n); the state port is h_n
            h_n = h_n[0]
        state = torch.cat([h_n[-2], h_n[-1]], dim=1) if self.bidirectional else h_n[-1]
        if self.return_sequences:
            out = seq
        elif self.bidirectional:
            # Forward direction's last step joined with the backward direction's step 0.
            out = torch.cat([seq[:, -1, : self.hidden], seq[:, 0, self.hidden :]], dim=1)
        else:
            out = seq[:, -1]
        return {"out": out, "state": state}


class PositionalRef(nn.Module):
    """Reference positional encoding: fixed sinusoids or a learned table, added to x."""

    def __init__(self, p: dict[str, Any], d_model: int) -> None:
        super().__init__()
        if p["mode"] == "learned":
            self.table = nn.Embedding(p["max_len"], d_model)
        else:
            pos = torch.arange(p["max_len"]).unsqueeze(1)
            freq = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
            pe = torch.zeros(p["max_len"], d_model)
            pe[:, 0::2] = torch.sin(pos * freq)
            pe[:, 1::2] = torch.cos(pos * freq)
            self.register_buffer("pe", pe)
        self.drop = nn.Dropout(p["dropout"])

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x + PE[:T], then dropout."""
        steps = x.shape[1]
        pe = self.table.weight[:steps] if hasattr(self, "table") else self.pe[:steps]
        return {"out": self.drop(x + pe)}


class ClassTokenRef(nn.Module):
    """Reference class token: one learned (1, 1, E) vector prepended to each sequence."""

    def __init__(self, embed_dim: int) -> None:
        super().__init__()
        self.token = nn.Parameter(torch.zeros(1, 1, embed_dim))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """cat([token, x], dim=1)."""
        return {"out": torch.cat([self.token.expand(x.shape[0], -1, -1), x], dim=1)}


class FunctionRef(nn.Module):
    """A parameter-free layer given as a function."""

    def __init__(self, fn: Callable[..., torch.Tensor]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, **inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """The function's result on the ``out`` port."""
        return {"out": self.fn(**inputs)}


class AttentionRef(nn.Module):
    """nn.MultiheadAttention with the catalogue's ports and causal option."""

    def __init__(self, p: dict[str, Any], embed_dim: int) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(
            embed_dim, p["num_heads"], dropout=p["dropout"], bias=p["bias"], batch_first=True
        )
        self.causal = p["causal"]

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor | None = None,
        value: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Self-attention when key is absent; value defaults to key."""
        key = query if key is None else key
        value = key if value is None else value
        mask = causal_mask(query.shape[1]) if self.causal else None
        out, _ = self.attn(query, key, value, attn_mask=mask, need_weights=False)
        return {"out": out}


class BlockRef(nn.Module):
    """nn.TransformerEncoderLayer / TransformerDecoderLayer with the catalogue's causal option."""

    def __init__(self, decoder: bool, p: dict[str, Any], d_model: int) -> None:
        super().__init__()
        cls = nn.TransformerDecoderLayer if decoder else nn.TransformerEncoderLayer
        self.block = cls(
            d_model,
            p["nhead"],
            dim_feedforward=p["dim_feedforward"],
            dropout=p["dropout"],
            activation=p["activation"],
            batch_first=True,
            norm_first=p["norm_first"],
        )
        self.decoder = decoder
        self.causal = p["causal"]

    def forward(self, **inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """The block on ``in`` (and ``memory``), with a causal mask on self-attention."""
        x = inputs["in"]
        mask = causal_mask(x.shape[1]) if self.causal else None
        if self.decoder:
            out = self.block(x, inputs["memory"], tgt_mask=mask, tgt_is_causal=self.causal)
        else:
            out = self.block(x, src_mask=mask, is_causal=self.causal)
        return {"out": out}


def _select(p: dict[str, Any]) -> Callable[..., torch.Tensor]:
    index = {"first": 0, "last": -1}.get(p["which"], p["index"])
    return lambda **t: t["in"][:, index]


Builder = Callable[[dict[str, Any], dict[str, Any]], nn.Module]
"""(resolved params, inferred values) -> the reference torch module."""

BUILDERS: dict[str, Builder] = {
    "embedding": lambda p, inf: nn.Embedding(
        p["num_embeddings"], p["embedding_dim"], padding_idx=p["padding_idx"]
    ),
    "rnn": lambda p, inf: RecurrentRef(nn.RNN, p, inf["input_size"]),
    "lstm": lambda p, inf: RecurrentRef(nn.LSTM, p, inf["input_size"]),
    "gru": lambda p, inf: RecurrentRef(nn.GRU, p, inf["input_size"]),
    "multihead_attention": lambda p, inf: AttentionRef(p, inf["embed_dim"]),
    "transformer_encoder_layer": lambda p, inf: BlockRef(False, p, inf["d_model"]),
    "transformer_decoder_layer": lambda p, inf: BlockRef(True, p, inf["d_model"]),
    "positional_encoding": lambda p, inf: PositionalRef(p, inf["d_model"]),
    "cls_token": lambda p, inf: ClassTokenRef(inf["embed_dim"]),
    "select_step": lambda p, inf: FunctionRef(_select(p)),
    "mean_over_time": lambda p, inf: FunctionRef(lambda **t: t["in"].mean(dim=1)),
}


def run_torch(module: nn.Module, inputs: dict[str, TensorSpec]) -> dict[str, torch.Tensor]:
    """Forward random tensors of the bound input shapes through the reference module."""
    module.eval()
    tensors = {}
    for port, s in inputs.items():
        shape = concrete(s.shape, RUN_BINDINGS)
        tensors[port] = torch.randint(0, 10, shape) if s.dtype == I64 else torch.randn(shape)
    with torch.no_grad():
        if isinstance(module, nn.Embedding):
            return {"out": module(tensors["in"])}
        if isinstance(module, (RecurrentRef, PositionalRef, ClassTokenRef)):
            return module(tensors["in"])
        return module(**tensors)


# ------------------------------------------------------------------------ shape cases
@dataclass
class Case:
    """One layer configuration: inputs, predicted outputs and inferred values."""

    type_id: str
    params: dict[str, Any]
    inputs: dict[str, TensorSpec]
    outputs: dict[str, tuple[Any, ...]]
    inferred: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """Readable pytest id."""
        args = ",".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.type_id}({args})"


CASES = [
    # Embedding: any (N, ...) of ids gets a last dimension.
    Case(
        "embedding",
        {"num_embeddings": 10, "embedding_dim": 8},
        {"in": spec("N", "T", dtype=I64)},
        {"out": ("N", "T", 8)},
    ),
    Case(
        "embedding",
        {"num_embeddings": 50, "embedding_dim": 3, "padding_idx": 0},
        {"in": spec("N", 4, 6, dtype=I64)},
        {"out": ("N", 4, 6, 3)},
    ),
    Case(
        "embedding",
        {"num_embeddings": 12, "embedding_dim": 5, "padding_idx": -1},
        {"in": spec("N", dtype=I64)},
        {"out": ("N", 5)},
    ),
    # Simple RNN.
    Case(
        "rnn",
        {},
        {"in": spec("N", "T", 10)},
        {"out": ("N", 64), "state": ("N", 64)},
        {"input_size": 10},
    ),
    Case(
        "rnn",
        {
            "hidden_size": 16,
            "nonlinearity": "relu",
            "return_sequences": True,
            "num_layers": 2,
            "dropout": 0.2,
        },
        {"in": spec("N", "T", 3)},
        {"out": ("N", "T", 16), "state": ("N", 16)},
        {"input_size": 3},
    ),
    Case(
        "rnn",
        {"hidden_size": 6, "bidirectional": True, "bias": False},
        {"in": spec("N", 9, 4)},
        {"out": ("N", 12), "state": ("N", 12)},
        {"input_size": 4},
    ),
    # LSTM.
    Case(
        "lstm",
        {"hidden_size": 20},
        {"in": spec("N", "T", 10)},
        {"out": ("N", 20), "state": ("N", 20)},
        {"input_size": 10},
    ),
    Case(
        "lstm",
        {"hidden_size": 20, "num_layers": 2, "bidirectional": True},
        {"in": spec("N", "T", 10)},
        {"out": ("N", 40), "state": ("N", 40)},
    ),
    Case(
        "lstm",
        {
            "hidden_size": 8,
            "num_layers": 3,
            "bidirectional": True,
            "return_sequences": True,
            "bias": False,
        },
        {"in": spec("N", "T", 5)},
        {"out": ("N", "T", 16), "state": ("N", 16)},
    ),
    # GRU.
    Case(
        "gru",
        {"hidden_size": 8, "return_sequences": True},
        {"in": spec("N", 12, 8)},
        {"out": ("N", 12, 8), "state": ("N", 8)},
        {"input_size": 8},
    ),
    Case(
        "gru",
        {"hidden_size": 32, "num_layers": 2, "bidirectional": True},
        {"in": spec("N", "T", 7)},
        {"out": ("N", 64), "state": ("N", 64)},
    ),
    # Multi-head attention: self, cross (key only, key + value), causal, no bias.
    Case(
        "multihead_attention",
        {"num_heads": 4},
        {"query": spec("N", "T", 64)},
        {"out": ("N", "T", 64)},
        {"embed_dim": 64},
    ),
    Case(
        "multihead_attention",
        {"num_heads": 2},
        {"query": spec("N", "T", 16), "key": spec("N", "S", 16)},
        {"out": ("N", "T", 16)},
    ),
    Case(
        "multihead_attention",
        {"num_heads": 8, "bias": False},
        {"query": spec("N", "T", 32), "key": spec("N", "S", 32), "value": spec("N", "S", 32)},
        {"out": ("N", "T", 32)},
    ),
    Case(
        "multihead_attention",
        {"num_heads": 1, "causal": True, "dropout": 0.1},
        {"query": spec("N", "T", 12)},
        {"out": ("N", "T", 12)},
    ),
    # Transformer blocks.
    Case(
        "transformer_encoder_layer",
        {"nhead": 4, "dim_feedforward": 128},
        {"in": spec("N", "T", 64)},
        {"out": ("N", "T", 64)},
        {"d_model": 64},
    ),
    Case(
        "transformer_encoder_layer",
        {
            "nhead": 2,
            "dim_feedforward": 48,
            "activation": "gelu",
            "norm_first": True,
            "causal": True,
        },
        {"in": spec("N", "T", 16)},
        {"out": ("N", "T", 16)},
    ),
    Case("transformer_encoder_layer", {}, {"in": spec("N", 197, 32)}, {"out": ("N", 197, 32)}),
    Case(
        "transformer_decoder_layer",
        {"nhead": 4, "dim_feedforward": 64},
        {"in": spec("N", "T", 32), "memory": spec("N", "S", 32)},
        {"out": ("N", "T", 32)},
        {"d_model": 32},
    ),
    Case(
        "transformer_decoder_layer",
        {
            "nhead": 2,
            "dim_feedforward": 40,
            "causal": False,
            "norm_first": True,
            "activation": "gelu",
        },
        {"in": spec("N", 6, 8), "memory": spec("N", "S", 8)},
        {"out": ("N", 6, 8)},
    ),
    # Positional encoding and class token.
    Case(
        "positional_encoding",
        {},
        {"in": spec("N", "T", 16)},
        {"out": ("N", "T", 16)},
        {"d_model": 16},
    ),
    Case(
        "positional_encoding",
        {"mode": "learned", "max_len": 50},
        {"in": spec("N", "T", 16)},
        {"out": ("N", "T", 16)},
    ),
    Case(
        "positional_encoding",
        {"mode": "learned", "max_len": 7, "dropout": 0.0},
        {"in": spec("N", 7, 5)},
        {"out": ("N", 7, 5)},
    ),
    Case("cls_token", {}, {"in": spec("N", "T", 16)}, {"out": ("N", "T+1", 16)}, {"embed_dim": 16}),
    Case("cls_token", {}, {"in": spec("N", 196, 64)}, {"out": ("N", 197, 64)}),
    # Sequence reductions.
    Case("select_step", {}, {"in": spec("N", "T", 16)}, {"out": ("N", 16)}),
    Case("select_step", {"which": "first"}, {"in": spec("N", "T", 4, 5)}, {"out": ("N", 4, 5)}),
    Case(
        "select_step", {"which": "index", "index": 2}, {"in": spec("N", 7, 16)}, {"out": ("N", 16)}
    ),
    Case(
        "select_step", {"which": "index", "index": -7}, {"in": spec("N", 7, 3)}, {"out": ("N", 3)}
    ),
    Case("mean_over_time", {}, {"in": spec("N", "T", 16)}, {"out": ("N", 16)}),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_shapes_and_parameter_counts_match_torch(case: Case) -> None:
    """Predicted shapes, inferred values and parameter counts agree with the torch module."""
    result = run_rule(case.type_id, case.params, case.inputs)
    outputs = {p: s.shape for p, s in result.outputs.items()}
    if case.type_id == "lstm":
        assert outputs.pop("cell") == outputs["state"]  # c_n is shaped like h_n
    assert outputs == case.outputs
    assert all(s.dtype == F32 for s in result.outputs.values())
    for key, value in case.inferred.items():
        assert result.inferred[key] == value
    layer = get_layer_type(case.type_id)
    assert set(result.inferred) == set(layer.inferred)

    stats = stat_context(case.type_id, case.params, case.inputs, result)
    values, _ = layer.resolve_params(case.params)
    module = BUILDERS[case.type_id](values, dict(result.inferred))
    assert layer.count_params(stats) == torch_count(module)
    macs = layer.count_macs(stats)
    assert isinstance(macs, int) and macs >= 0

    produced = run_torch(module, case.inputs)
    assert set(produced) == set(case.outputs)
    for port, tensor in produced.items():
        assert tuple(tensor.shape) == concrete(case.outputs[port], RUN_BINDINGS), port


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_bidirectional_last_step_equals_both_final_states(kind: str) -> None:
    """The documented 'last step' of a bidirectional layer is concat(h_n forward, h_n backward)."""
    params = {"hidden_size": 5, "num_layers": 2, "bidirectional": True}
    result = run_rule(kind, params, {"in": spec("N", "T", 3)})
    values, _ = get_layer_type(kind).resolve_params(params)
    module = BUILDERS[kind](values, dict(result.inferred)).eval()
    with torch.no_grad():
        produced = module(torch.randn(2, 7, 3))
    assert torch.allclose(produced["out"], produced["state"])


@pytest.mark.parametrize("kind, gates", [("rnn", 1), ("lstm", 4), ("gru", 3)])
def test_recurrent_macs_are_weights_times_steps(kind: str, gates: int) -> None:
    """Without biases every weight is used once per time step."""
    params = {"hidden_size": 6, "num_layers": 2, "bidirectional": True, "bias": False}
    inputs = {"in": spec("N", "T", 4)}
    result = run_rule(kind, params, inputs)
    stats = stat_context(kind, params, inputs, result)
    layer = get_layer_type(kind)
    weights = layer.count_params(stats)
    assert weights == 2 * gates * 6 * (4 + 6) + 2 * gates * 6 * (12 + 6)
    assert layer.count_macs(stats) == STAT_BINDINGS["T"] * weights


def test_attention_macs() -> None:
    """Projections (4 T E^2) plus scores and weighted sum (2 T^2 E) for self-attention."""
    inputs = {"query": spec("N", "T", 16)}
    result = run_rule("multihead_attention", {"num_heads": 2}, inputs)
    stats = stat_context("multihead_attention", {"num_heads": 2}, inputs, result)
    t, e = STAT_BINDINGS["T"], 16
    assert get_layer_type("multihead_attention").count_macs(stats) == 4 * t * e * e + 2 * t * t * e


def test_sinusoidal_reference_matches_the_documented_formula() -> None:
    """PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(...)."""
    d = 8
    ref = PositionalRef({"mode": "sinusoidal", "max_len": 20, "dropout": 0.0}, d)
    for pos, i in ((0, 0), (3, 1), (19, 3)):
        angle = pos / 10000 ** (2 * i / d)
        assert ref.pe[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
        assert ref.pe[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


# ------------------------------------------------------------------------ error cases
@dataclass
class Bad:
    """A configuration the shape rule must reject, with what the message must name."""

    type_id: str
    params: dict[str, Any]
    inputs: dict[str, TensorSpec]
    says: tuple[str, ...]
    fix: dict[str, Any] | None = None
    """Expected fields of the first Fix (kind, layer_type, param, value, port, params)."""
    port: str | None = None

    @property
    def id(self) -> str:
        """Readable pytest id."""
        return f"{self.type_id}:{self.says[0]}"


BAD = [
    Bad(
        "embedding",
        {},
        {"in": spec("N", "T")},
        ("token ids (int64)", "float32", "(N, T)", "set the Input's dtype to int64"),
    ),
    Bad(
        "embedding",
        {"num_embeddings": 10, "padding_idx": 10},
        {"in": spec("N", "T", dtype=I64)},
        ("padding_idx 10", "0 to 9", "num_embeddings 10"),
        {"kind": "set_param", "param": "padding_idx", "value": 0},
    ),
    Bad(
        "embedding",
        {"num_embeddings": 10, "padding_idx": -11},
        {"in": spec("N", dtype=I64)},
        ("padding_idx -11", "0 to 9"),
    ),
    Bad(
        "lstm",
        {},
        {"in": spec("N", 64)},
        ("needs a sequence (N, T, features)", "(N, 64)", "RepeatVector", "Reshape to (64, 1)"),
        {"kind": "insert", "layer_type": "repeat_vector", "port": "in"},
    ),
    Bad(
        "gru",
        {},
        {"in": spec("N", "T", dtype=I64)},
        ("int64", "(N, T)", "Embedding"),
        {"kind": "insert", "layer_type": "embedding"},
    ),
    Bad(
        "rnn",
        {},
        {"in": spec("N", 16, 8, 8)},
        ("(N, 16, 8, 8)", "Flatten", "(N, 16, 64)"),
        {"kind": "insert", "layer_type": "flatten", "params": (("start_dim", 2),)},
    ),
    Bad("lstm", {}, {"in": spec("N", "T", "F")}, ("number of input features", "'F'")),
    Bad(
        "multihead_attention",
        {"num_heads": 6},
        {"query": spec("N", "T", 64)},
        ("num_heads=6", "embed_dim=64", "set num_heads to 8"),
        {"kind": "set_param", "param": "num_heads", "value": 8},
    ),
    Bad(
        "multihead_attention",
        {"num_heads": 4},
        {"query": spec("N", "T", 10)},
        ("num_heads=4", "embed_dim=10", "set num_heads to 5"),
        {"kind": "set_param", "param": "num_heads", "value": 5},
    ),
    Bad(
        "multihead_attention",
        {"num_heads": 4},
        {"query": spec("N", "T", 64), "key": spec("N", "S", 32)},
        ("embed_dim=64 features like the query", "(N, S, 32)", "with 32", "kdim/vdim", "Dense"),
        {"kind": "insert", "layer_type": "dense", "port": "key", "params": (("units", 64),)},
        port="key",
    ),
    Bad(
        "multihead_attention",
        {"num_heads": 4},
        {"query": spec("N", "T", 64), "key": spec("N", "S", 64), "value": spec("N", "S", 48)},
        ("value", "48", "64", "kdim/vdim"),
        port="value",
    ),
    Bad(
        "multihead_attention",
        {"num_heads": 4},
        {"query": spec("N", "T", 64), "value": spec("N", "S", 64)},
        ("value connected but no key",),
        port="key",
    ),
    Bad(
        "multihead_attention",
        {"num_heads": 4},
        {"query": spec("N", "T", 64), "key": spec("N", "S", 64), "value": spec("N", 9, 64)},
        ("key (N, S, 64) has S steps", "value (N, 9, 64) has 9"),
        port="value",
    ),
    Bad(
        "multihead_attention",
        {"num_heads": 4, "causal": True},
        {"query": spec("N", "T", 64), "key": spec("N", "S", 64)},
        ("causal", "query has T steps", "key S"),
        {"kind": "set_param", "param": "causal", "value": False},
    ),
    Bad(
        "multihead_attention",
        {"num_heads": 2},
        {"query": spec("N", 64)},
        ("needs a sequence (N, T, features) on query", "(N, 64)", "one vector per example"),
        port="query",
    ),
    Bad(
        "transformer_decoder_layer",
        {"nhead": 2},
        {"in": spec("N", "T", 8), "memory": spec(4, "S", 8)},
        ("same batch on memory as on the target", "(4, S, 8)", "(N, T, 8)"),
        port="memory",
    ),
    Bad(
        "transformer_encoder_layer",
        {"nhead": 3},
        {"in": spec("N", "T", 64)},
        ("nhead=3", "d_model=64", "set nhead to 4"),
        {"kind": "set_param", "param": "nhead", "value": 4},
    ),
    Bad("transformer_encoder_layer", {"nhead": 2}, {"in": spec("N", "T", "E")}, ("d_model", "'E'")),
    Bad(
        "transformer_decoder_layer",
        {"nhead": 4},
        {"in": spec("N", "T", 64), "memory": spec("N", "S", 32)},
        ("memory with d_model=64 features like the target", "(N, S, 32)", "with 32"),
        {"kind": "insert", "layer_type": "dense", "port": "memory"},
        port="memory",
    ),
    Bad(
        "transformer_decoder_layer",
        {"nhead": 5},
        {"in": spec("N", "T", 64), "memory": spec("N", "S", 64)},
        ("nhead=5", "d_model=64", "set nhead to 4"),
    ),
    Bad(
        "positional_encoding",
        {},
        {"in": spec("N", "T", 33)},
        ("even embedding size", "(N, T, 33)", "has 33"),
        {"kind": "set_param", "param": "mode", "value": "learned"},
    ),
    Bad(
        "positional_encoding",
        {"max_len": 512},
        {"in": spec("N", 600, 32)},
        ("max_len 512", "(N, 600, 32)", "set max_len to 600"),
        {"kind": "set_param", "param": "max_len", "value": 600},
    ),
    Bad("cls_token", {}, {"in": spec("N", 32)}, ("(N, 32)", "sequence")),
    Bad(
        "select_step",
        {"which": "index", "index": 10},
        {"in": spec("N", 7, 16)},
        ("index 10", "(N, 7, 16)", "only 7 time steps", "-7 to 6"),
        {"kind": "set_param", "param": "index", "value": -1},
    ),
    Bad("select_step", {}, {"in": spec("N", 16)}, ("(N, 16)", "no time axis")),
    Bad("mean_over_time", {}, {"in": spec("N", 16)}, ("(N, 16)", "no time axis")),
    Bad("mean_over_time", {}, {"in": spec("N", "T", dtype=I64)}, ("int64", "Embedding")),
]


@pytest.mark.parametrize("bad", BAD, ids=lambda b: b.id)
def test_errors_name_the_offending_values(bad: Bad) -> None:
    """Each rejection names every offending value, says what to do, and offers the fix."""
    with pytest.raises(ShapeError) as info:
        run_rule(bad.type_id, bad.params, bad.inputs)
    error = info.value
    for text in bad.says:
        assert text in error.message, (text, error.message)
    if bad.fix is not None:
        assert error.fixes, error.message
        fix = error.fixes[0]
        assert error.message.count(fix.label) <= 1, "the fix is announced twice"
        for key, value in bad.fix.items():
            assert getattr(fix, key) == value, (key, fix)
    if bad.port is not None:
        assert error.port == bad.port


@pytest.mark.parametrize(
    "type_id, params, problem",
    [
        ("lstm", {"nonlinearity": "relu"}, "no parameter 'nonlinearity'"),
        ("rnn", {"nonlinearity": "sigmoid"}, "nonlinearity must be one of"),
        ("multihead_attention", {"num_heads": 0}, "num_heads must be at least 1"),
        ("transformer_encoder_layer", {"activation": "tanh"}, "activation must be one of"),
        ("positional_encoding", {"mode": "rotary"}, "mode must be one of"),
        ("select_step", {"which": "middle"}, "which must be one of"),
    ],
)
def test_bad_parameter_values_are_reported(type_id: str, params: dict, problem: str) -> None:
    """Parameter validation happens before the shape rule, through the ParamSpecs."""
    _, problems = get_layer_type(type_id).resolve_params(params)
    assert any(problem in p for p in problems), problems


# --------------------------------------------------------------------- catalogue entries
HELP_MENTIONS = {
    "embedding": ("W[x[n, t]]", "padding_idx", "int64"),
    "rnn": ("h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)", "vanishing gradients"),
    "lstm": (
        "f_t = sigma(W_f [h_{t-1}, x_t] + b_f)",
        "c_t = f_t*c_{t-1} + i_t*c~_t",
        "h_t = o_t*tanh(c_t)",
        "forget gate",
        "input gate",
        "output gate",
        "cell state",
    ),
    "gru": ("h_t = (1 - z_t)*n_t + z_t*h_{t-1}", "update gate", "reset gate"),
    "multihead_attention": ("softmax(Q K^T / sqrt(d_k)) V", "kdim", "causal"),
    "transformer_encoder_layer": ("LN(x + SA(x))", "norm_first", "GPT"),
    "transformer_decoder_layer": ("memory", "LN(x + SA_causal(x))", "teacher forcing"),
    "positional_encoding": ("sin(pos / 10000^(2i/d))", "cos(pos / 10000^(2i/d))", "learned"),
    "cls_token": ("cat([c, x], dim=1)", "ViT", "BERT"),
    "select_step": ("x[:, t]", "last", "first", "index"),
    "mean_over_time": ("(1/T) * sum over t",),
}


@pytest.mark.parametrize("type_id", MY_IDS)
def test_help_text_gives_the_formula(type_id: str) -> None:
    """Students read the explanation and formula in the help panel."""
    layer = get_layer_type(type_id)
    text = layer.help_text()
    assert layer.formula in text
    for fragment in HELP_MENTIONS[type_id]:
        assert fragment in text, fragment


def test_recurrent_help_defines_the_bidirectional_last_step() -> None:
    """The torch side relies on this definition."""
    for kind in ("rnn", "lstm", "gru"):
        text = get_layer_type(kind).explanation
        assert "output at t = 0" in text and "final hidden states" in text


EXPECTED = {
    "embedding": ("Embedding", "emb", ()),
    "positional_encoding": ("Embedding", "pos", ("d_model",)),
    "cls_token": ("Embedding", "cls", ("embed_dim",)),
    "rnn": ("Recurrent", "rnn", ("input_size",)),
    "lstm": ("Recurrent", "lstm", ("input_size",)),
    "gru": ("Recurrent", "gru", ("input_size",)),
    "multihead_attention": ("Attention", "attn", ("embed_dim",)),
    "transformer_encoder_layer": ("Attention", "enc", ("d_model",)),
    "transformer_decoder_layer": ("Attention", "dec", ("d_model",)),
    "select_step": ("Sequence", "step", ()),
    "mean_over_time": ("Sequence", "mean", ()),
}


@pytest.mark.parametrize("type_id", MY_IDS)
def test_catalogue_entry(type_id: str) -> None:
    """Category, name prefix, inferred names and key parameters are consistent."""
    layer = get_layer_type(type_id)
    category, prefix, inferred = EXPECTED[type_id]
    assert (layer.category, layer.prefix, layer.inferred) == (category, prefix, inferred)
    names = {p.name for p in layer.params}
    assert set(layer.key_params) <= names
    assert not set(layer.inferred) & names
    values, problems = layer.resolve_params({})
    assert not problems and set(values) == names


def test_ports() -> None:
    """Port names the torch side and the editor rely on."""

    def names(ports):
        return [(p.name, p.optional) for p in ports]

    mha = get_layer_type("multihead_attention")
    assert names(mha.inputs) == [("query", False), ("key", True), ("value", True), ("mask", True)]
    assert names(mha.output_ports(mha.defaults())) == [("out", False)]
    for mode in ("mean", "per_head"):
        assert [p.name for p in mha.output_ports({"attention_weights": mode})] == ["out", "weights"]
    dec = get_layer_type("transformer_decoder_layer")
    ports = dec.output_ports({"attention_weights": "mean"})
    assert [p.name for p in ports] == ["out", "weights", "cross_weights"]
    assert [p.name for p in dec.output_ports({})] == ["out"]
    dec = get_layer_type("transformer_decoder_layer")
    assert names(dec.inputs) == [
        ("in", False),
        ("memory", False),
        ("mask", True),
        ("memory_mask", True),
    ]
    enc = get_layer_type("transformer_encoder_layer")
    assert names(enc.inputs) == [("in", False), ("mask", True)]
    assert get_layer_type("transformer_decoder_layer").defaults()["causal"] is True
    assert get_layer_type("transformer_encoder_layer").defaults()["causal"] is False
    for kind in ("rnn", "gru"):
        assert [p.name for p in get_layer_type(kind).outputs] == ["out", "state"]
        assert names(get_layer_type(kind).inputs) == [("in", False), ("h0", True)]
    lstm = get_layer_type("lstm")
    assert [p.name for p in lstm.outputs] == ["out", "state", "cell"]
    assert names(lstm.inputs) == [("in", False), ("h0", True), ("c0", True)]


def test_catalogue_modules_do_not_import_torch() -> None:
    """The catalogue stays pure Python so validation is instant."""
    code = (
        "import sys, dlstudio.layers; "
        "bad = [m for m in ('torch', 'PySide6') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _masked_attention(mask_shape: tuple, dtype: str) -> list[str]:
    b = ChainBuilder("masked")
    x = b.add("input", "x", shape=("T", 8), seq_len=5)
    mask = b.add("input", "mask", shape=mask_shape, dtype=dtype, seq_len=5)
    enc = b.add("transformer_encoder_layer", "enc", nhead=2, dim_feedforward=8)
    out = b.add("output", "out")
    b.wire(x, enc)
    b.wire(mask, enc, dst_port="mask")
    b.wire(enc, out)
    return [d.message for d in analyze(b.graph).errors]


def test_padding_mask_must_be_integers_with_one_entry_per_step() -> None:
    assert _masked_attention(("T",), "int64") == []
    [floats] = _masked_attention(("T",), "float32")
    assert "needs mask as integers (1 = attend, 0 = padding)" in floats
    assert "set the mask Input's dtype to int64" in floats
    [wrong] = _masked_attention(("T", 2), "int64")
    assert "needs mask of shape (N, T)" in wrong


def _started(params: dict, h0: tuple, c0: tuple | None = None) -> list[str]:
    b = ChainBuilder("started")
    x = b.add("input", "x", shape=("T", 3), seq_len=5)
    h = b.add("input", "h", shape=h0)
    lstm = b.add("lstm", "lstm", hidden_size=4, **params)
    b.wire(x, lstm)
    b.wire(h, lstm, dst_port="h0")
    if c0 is not None:
        c = b.add("input", "c", shape=c0)
        b.wire(c, lstm, dst_port="c0")
    b.wire(lstm, b.add("output", "y"))
    return [d.message for d in analyze(b.graph).errors]


def test_initial_state_must_fit_one_unidirectional_layer() -> None:
    assert _started({}, (4,), (4,)) == []
    [wrong] = _started({}, (6,))
    assert "needs the initial state h0 as (N, 4)" in wrong and "set hidden_size to 6" in wrong
    [stacked] = _started({"num_layers": 2}, (4,))
    assert "only with one layer in one direction" in stacked
    [bidirectional] = _started({"bidirectional": True}, (4,))
    assert "and is bidirectional" in bidirectional


@pytest.mark.parametrize(
    ("mode", "weights", "cross"),
    [("off", None, None), ("mean", ("N", 5, 5), ("N", 5, 7)), ("per_head", ("N", 2, 5, 5), None)],
)
def test_attention_weights_output_shapes(mode: str, weights, cross) -> None:
    """The weights ports: (N, T_q, T_k) averaged, (N, heads, T_q, T_k) per head, absent off."""
    params = {"nhead": 2, "attention_weights": mode}
    layer = get_layer_type("transformer_decoder_layer")
    values, problems = layer.resolve_params(params)
    assert not problems
    ctx = ShapeContext(
        "dec1",
        layer.label,
        values,
        {"in": TensorSpec(("N", 5, 8)), "memory": TensorSpec(("N", 7, 8))},
    )
    outputs = layer.infer(ctx).outputs
    assert outputs["out"].shape == ("N", 5, 8)
    assert (outputs["weights"].shape if "weights" in outputs else None) == weights
    if cross is not None:
        assert outputs["cross_weights"].shape == cross
    assert set(outputs) == {p.name for p in layer.output_ports(values)}
