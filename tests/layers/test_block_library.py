"""The built-in block library: every definition is complete, analyses cleanly as an instance with
its default parameters and has the parameter count of the PyTorch module it stands for (counted
here by formula; tests/compile/test_block_library_parity.py compares with torch itself)."""

from __future__ import annotations

import pytest

from dlstudio.analysis import analyze
from dlstudio.core import dumps_project, loads_project
from dlstudio.core.blocks import check_definition_name, check_param_name, definition_order
from dlstudio.layers.block_library import definitions_needed, library_definitions
from dlstudio.layers.builder import GraphBuilder
from dlstudio.layers.validation import check_node

LIBRARY = library_definitions()
NAMES = sorted(LIBRARY)


def instance_model(name: str, **params) -> GraphBuilder:
    """A model of one instance of library block ``name``, fed its definition's example input."""
    b = GraphBuilder(f"one-{name.lower()}")
    b.use(library_definitions(), name)
    definition = b.graph.blocks[name]
    inputs = [b.input(n.name, n.params["shape"], seq_len=10) for n in definition.input_nodes()]
    y = b.block(name, "block", *inputs, **params)
    b.output(y, "out")
    return b


def test_the_issue_lists_these_blocks() -> None:
    assert set(NAMES) >= {
        "BasicBlock",
        "Bottleneck",
        "VGGBlock2",
        "VGGBlock3",
        "TransformerEncoderPostLN",
        "TransformerEncoderPreLN",
        "PatchEmbedding",
    }


@pytest.mark.parametrize("name", NAMES)
def test_definition_is_documented(name: str) -> None:
    definition = LIBRARY[name]
    assert definition.name == name and check_definition_name(name) is None
    assert len(definition.description) > 80
    assert definition.params, "a library block is parametric"
    for param in definition.params:
        assert check_param_name(param.name) is None
        assert param.help.strip(), f"{name}.{param.name} has no help"
        assert param.check(param.default) == param.default
    assert definition.input_ports() and definition.output_ports()


@pytest.mark.parametrize("name", NAMES)
def test_analyses_cleanly_with_default_parameters(name: str) -> None:
    graph = instance_model(name).graph
    result = analyze(graph, batch_size=2)
    assert result.diagnostics == []
    assert result.total_params > 0
    block = graph.node_by_name("block")
    assert result.nodes[block.id].children, "the instance is analysed through its definition"


@pytest.mark.parametrize("name", [n for n in NAMES if LIBRARY[n].param("in_channels")])
def test_in_channels_default_matches_the_example_input(name: str) -> None:
    """The Input node's example shape (what the editor analyses the definition with) agrees
    with the parameter's default."""
    definition = LIBRARY[name]
    (node,) = definition.input_nodes()
    assert node.params["shape"][0] == definition.param("in_channels").default


# Parameter counts of the PyTorch modules, by formula (bn: 2 per channel; conv: no bias).
def _conv(cin: int, cout: int, k: int, bias: bool = False) -> int:
    return cin * cout * k * k + (cout if bias else 0)


EXPECTED = {
    # torchvision BasicBlock(64, 64)
    "BasicBlock": 2 * (_conv(64, 64, 3) + 2 * 64),
    # torchvision Bottleneck(256, 64)
    "Bottleneck": _conv(256, 64, 1) + _conv(64, 64, 3) + _conv(64, 256, 1) + 2 * (64 + 64 + 256),
    "Downsample": _conv(64, 128, 1) + 2 * 128,
    "VGGBlock2": _conv(64, 128, 3, True) + _conv(128, 128, 3, True),
    "VGGBlock3": _conv(64, 128, 3, True) + 2 * _conv(128, 128, 3, True),
    # nn.TransformerEncoderLayer(512, 8): attention 4 d^2 + 4 d, feed-forward, two LayerNorms
    "TransformerEncoderPostLN": 4 * 512 * 512 + 4 * 512 + 2 * 512 * 2048 + 2048 + 512 + 4 * 512,
    "TransformerEncoderPreLN": 4 * 512 * 512 + 4 * 512 + 2 * 512 * 2048 + 2048 + 512 + 4 * 512,
    # ViT-B/16's patch embedding: Conv2d(3, 768, 16, stride 16)
    "PatchEmbedding": _conv(3, 768, 16, True),
}


@pytest.mark.parametrize("name", NAMES)
def test_parameter_count_is_the_pytorch_modules(name: str) -> None:
    assert analyze(instance_model(name).graph).total_params == EXPECTED[name]


def test_one_definition_serves_every_stage_of_a_resnet() -> None:
    """Instance parameters change the sizes: a 256 -> 512 stride-2 BasicBlock with its
    downsample on, torchvision's BasicBlock(256, 512, 2, downsample)."""
    b = GraphBuilder("stage")
    b.use(library_definitions(), "BasicBlock")
    x = b.input("x", (256, 14, 14))
    y = b.block("BasicBlock", "layer4", x, in_channels=256, channels=512, stride=2, downsample=True)
    b.output(y)
    result = analyze(b.graph)
    assert result.diagnostics == []
    info = result.nodes[b.graph.node_by_name("layer4").id]
    assert info.outputs["out"].shape == ("N", 512, 7, 7)
    down = _conv(256, 512, 1) + 2 * 512
    assert info.param_count == _conv(256, 512, 3) + _conv(512, 512, 3) + 4 * 512 + down


def test_without_downsample_a_size_change_is_an_error_at_the_add() -> None:
    """The optional downsample left out: the shortcut is the input itself, so a block that
    changes the channels reports the mismatch at its Add, with the inner path."""
    b = GraphBuilder("stage")
    b.use(library_definitions(), "BasicBlock")
    x = b.input("x", (64, 14, 14))
    b.output(b.block("BasicBlock", "layer2", x, in_channels=64, channels=128, stride=2))
    messages = [d.message for d in analyze(b.graph).diagnostics]
    assert messages and messages[0].startswith("layer2.add"), messages


def test_a_wrong_parameter_is_reported_with_the_inner_path() -> None:
    b = instance_model("TransformerEncoderPostLN", d_model=512, nhead=7)
    messages = [d.message for d in analyze(b.graph).diagnostics]
    assert messages and all(m.startswith("block.self_attn") for m in messages), messages


def test_definitions_needed_lists_dependencies_first() -> None:
    assert definitions_needed("BasicBlock") == ["Downsample", "BasicBlock"]
    assert definitions_needed("VGGBlock2") == ["VGGBlock2"]
    for name in NAMES:
        needed = definitions_needed(name)
        assert needed[-1] == name
        assert needed == definition_order(LIBRARY, [name])
    with pytest.raises(KeyError, match="BasicBlock"):
        definitions_needed("NoSuchBlock")


def test_library_hands_out_copies() -> None:
    first = library_definitions()
    first["BasicBlock"].graph.node_by_name("conv1").params["kernel_size"] = 5
    assert (
        library_definitions()["BasicBlock"].graph.node_by_name("conv1").params["kernel_size"] == 3
    )


@pytest.mark.parametrize("name", NAMES)
def test_saves_and_loads_in_a_project(name: str) -> None:
    graph = instance_model(name).graph
    loaded = loads_project(dumps_project(graph), node_checker=check_node)
    assert set(loaded.blocks) == set(definitions_needed(name))
    assert analyze(loaded).total_params == EXPECTED[name]
