"""Hostile node names, graph names and values: nothing in them ever executes, and the source
always parses and builds."""

from __future__ import annotations

import ast

import torch
from graph_builders import ChainBuilder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlstudio.compile import CompileError, compile_graph, generate_source

SENTINEL_CODE = "__import__('pathlib').Path({path!r}).touch()"

HOSTILE = [
    "{code}",
    '"""; {code}; """',
    "'; {code}; '",
    "x\n{code}\n",
    "x  # \n{code}",
    "\\\n{code}",
    "forward",
    "training",
    "parameters",
    "__init__",
    "__class__",
    "self",
    "x",
    "torch",
    "nn",
    "F",
    "super",
    "class",
    "None",
    "import",
    "Lenet5",
    "MultiheadAttention",
    "causal_mask",
    "conv1",
    "conv1",
    "",
    "   ",
    "1x1",
    "block1-0",
    "-a",
    "名前",
    "ｆｃ１",
    "Ω≈ç√",
    "\x00\x01",
    "a" * 300,
]


def _graph(names: list[str], graph_name: str):
    b = ChainBuilder(graph_name)
    kinds = [
        ("input", {"shape": ("T", 4), "seq_len": 3}),
        ("dense", {"units": 4}),
        ("relu", {}),
        ("transformer_encoder_layer", {"nhead": 2, "dim_feedforward": 8, "causal": True}),
        ("lstm", {"hidden_size": 3}),
        ("dense", {"units": 2}),
        ("output", {}),
    ]
    b.chain(*[(kind, names[i % len(names)], params) for i, (kind, params) in enumerate(kinds)])
    return b.graph


def _check(names: list[str], graph_name: str, sentinel) -> None:
    graph = _graph(names, graph_name)
    source = generate_source(graph)
    ast.parse(source)
    compiled = compile_graph(graph)
    out = compiled.module.eval()(torch.randn(2, 5, 4))
    assert out.shape == (2, 2)
    keys = list(compiled.module.state_dict())
    assert len(keys) == len(set(keys))
    assert not sentinel.exists(), "a name was executed"


def test_listed_hostile_names(tmp_path) -> None:
    sentinel = tmp_path / "pwned"
    code = SENTINEL_CODE.format(path=str(sentinel))
    names = [n.format(code=code) for n in HOSTILE]
    _check(names, names[1], sentinel)
    for name in names:
        _check([name], name, sentinel)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    names=st.lists(
        st.one_of(st.text(max_size=30), st.sampled_from(HOSTILE)), min_size=1, max_size=7
    ),
    graph_name=st.text(max_size=40),
)
def test_any_names_compile_and_never_execute(names, graph_name, tmp_path) -> None:
    sentinel = tmp_path / "pwned"
    code = SENTINEL_CODE.format(path=str(sentinel))
    _check([n.format(code=code) if "{code}" in n else n for n in names], graph_name, sentinel)


@settings(max_examples=40, deadline=None)
@given(
    value=st.one_of(
        st.text(max_size=20),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-(10**20), max_value=10**20),
        st.lists(st.one_of(st.integers(), st.text(max_size=5)), max_size=3),
        st.none(),
        st.booleans(),
    ),
    param=st.sampled_from(["units", "bias"]),
)
def test_hostile_values_are_rejected_or_written_as_literals(value, param) -> None:
    b = ChainBuilder("values")
    b.chain(
        ("input", "input", {"shape": (4,)}), ("dense", "fc", {param: value}), ("output", "o", {})
    )
    try:
        source = generate_source(b.graph)
    except CompileError as exc:
        assert "fc" in str(exc)
        return
    ast.parse(source)
    assert compile_graph(b.graph).module(torch.randn(1, 4)).shape[0] == 1


def test_hyphenated_names_keep_their_keys(tmp_path) -> None:
    """regnet's ``block1-0``: the submodule keeps its name (``add_module``), so do its keys;
    a second layer of that name gets an identifier, and the file is valid Python."""
    graph = _graph(["x", "fc-1", "r", "block1-0", "block1-0", "head"], "m")
    compiled = compile_graph(graph)
    keys = list(compiled.module.state_dict())
    assert {k.split(".")[0] for k in keys} == {"fc-1", "block1-0", "block1_0", "head"}
    assert len(keys) == len(set(keys))
    assert 'self.add_module("block1-0", ' in compiled.source
    namespace: dict = {}
    exec(compile(compiled.source, "generated.py", "exec"), namespace)  # runs as exported
    assert list(namespace[compiled.code.class_name]().state_dict()) == keys
    assert compiled.module.eval()(torch.randn(2, 5, 4)).shape == (2, 2)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("aZ9_é -.\u0130"), max_size=45))
def test_plain_names_take_the_short_way_to_the_same_identifier(text: str) -> None:
    """Names that are already clean identifiers skip the normalisation, and come out as the
    normalisation would make them."""
    from dlstudio.compile.codegen.names import _cleaned, identifier_base

    assert identifier_base(text, "layer") == _cleaned(text, "layer")
