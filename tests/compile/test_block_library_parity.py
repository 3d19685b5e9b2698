"""Every built-in block compiles to the PyTorch module it stands for: same state_dict (keys and
shapes, so the weights load with strict=True) and, with the same weights, the same outputs."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision_shim import import_torchvision_models

from dlstudio.compile import compile_graph
from dlstudio.compile.codegen import generate_source
from dlstudio.layers.block_library import definitions_needed, library_definitions
from dlstudio.layers.builder import GraphBuilder

TOLERANCE = 1e-5


def compiled_block(name: str, shape: tuple, **params) -> nn.Module:
    """The compiled instance of library block ``name`` (the model's only submodule)."""
    b = GraphBuilder("one")
    b.use(library_definitions(), name)
    x = b.input("x", shape, seq_len=7)
    b.output(b.block(name, "block", x, **params))
    return compile_graph(b.graph).module.block.eval()


def _same(ours: nn.Module, theirs: nn.Module, x: torch.Tensor, **call) -> None:
    torch.manual_seed(0)
    for key, tensor in theirs.state_dict().items():  # BatchNorm statistics, not 0 and 1
        if key.endswith(("running_mean", "running_var")):
            tensor.copy_(torch.rand_like(tensor) + 0.5)
    mine = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    assert mine == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(theirs.state_dict(), strict=True)
    theirs.eval()
    with torch.no_grad():
        expected = theirs(x, **call)
        got = ours(x)
    assert got.shape == expected.shape
    assert (got - expected).abs().max().item() < TOLERANCE
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())


@pytest.fixture(scope="module")
def resnet():
    return import_torchvision_models().resnet


def _image(channels: int, size: int = 8) -> torch.Tensor:
    return torch.randn(2, channels, size, size, generator=torch.Generator().manual_seed(3))


def test_basic_block_is_torchvisions(resnet) -> None:
    ours = compiled_block("BasicBlock", (32, 8, 8), in_channels=32, channels=32)
    assert ours.downsample is None  # as torchvision's, without a downsample
    _same(ours, resnet.BasicBlock(32, 32), _image(32))


def test_basic_block_with_downsample_is_torchvisions(resnet) -> None:
    ours = compiled_block(
        "BasicBlock", (16, 8, 8), in_channels=16, channels=32, stride=2, downsample=True
    )
    down = nn.Sequential(nn.Conv2d(16, 32, 1, 2, bias=False), nn.BatchNorm2d(32))
    _same(ours, resnet.BasicBlock(16, 32, 2, downsample=down), _image(16))


def test_bottleneck_is_torchvisions(resnet) -> None:
    ours = compiled_block("Bottleneck", (64, 8, 8), in_channels=64, width=16)
    _same(ours, resnet.Bottleneck(64, 16), _image(64))


def test_bottleneck_with_downsample_is_torchvisions(resnet) -> None:
    ours = compiled_block(
        "Bottleneck", (32, 8, 8), in_channels=32, width=16, stride=2, downsample=True
    )
    down = nn.Sequential(nn.Conv2d(32, 64, 1, 2, bias=False), nn.BatchNorm2d(64))
    _same(ours, resnet.Bottleneck(32, 16, 2, downsample=down), _image(32))


def test_downsample_is_an_nn_sequential() -> None:
    ours = compiled_block("Downsample", (8, 8, 8), in_channels=8, channels=16, stride=2)
    assert isinstance(ours, nn.Sequential)
    theirs = nn.Sequential(nn.Conv2d(8, 16, 1, 2, bias=False), nn.BatchNorm2d(16))
    _same(ours, theirs, _image(8))


@pytest.mark.parametrize("convs", [2, 3])
def test_vgg_block(convs: int) -> None:
    ours = compiled_block(f"VGGBlock{convs}", (3, 8, 8), in_channels=3, channels=8)
    layers: list[nn.Module] = []
    for i in range(convs):
        layers += [nn.Conv2d(3 if i == 0 else 8, 8, 3, padding=1), nn.ReLU()]
    theirs = nn.Sequential(*layers, nn.MaxPool2d(2))
    # Ours names the convolutions conv1, conv2, ...; torch's Sequential numbers every layer.
    renamed = {
        f"conv{i // 2 + 1}.{k.split('.')[1]}": v
        for k, v in theirs.state_dict().items()
        for i in [int(k.split(".")[0])]
    }
    ours.load_state_dict(renamed, strict=True)
    x = _image(3)
    with torch.no_grad():
        assert (ours(x) - theirs(x)).abs().max().item() < TOLERANCE
    assert ours(x).shape == (2, 8, 4, 4)


SIZES = {"d_model": 32, "nhead": 4, "dim_feedforward": 64, "dropout": 0.1}


def _tokens() -> torch.Tensor:
    return torch.randn(2, 7, 32, generator=torch.Generator().manual_seed(5))


def test_post_ln_encoder_computes_nn_transformer_encoder_layer() -> None:
    ours = compiled_block("TransformerEncoderPostLN", ("T", 32), **SIZES)
    theirs = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.1, batch_first=True)
    _same(ours, theirs, _tokens())


@pytest.mark.parametrize("causal", [False, True])
def test_pre_ln_encoder_computes_norm_first_gelu_layer(causal: bool) -> None:
    ours = compiled_block("TransformerEncoderPreLN", ("T", 32), causal=causal, **SIZES)
    theirs = nn.TransformerEncoderLayer(
        32, 4, 64, dropout=0.1, activation="gelu", norm_first=True, batch_first=True
    )
    call = {}
    if causal:
        call = {"src_mask": nn.Transformer.generate_square_subsequent_mask(7), "is_causal": True}
    _same(ours, theirs, _tokens(), **call)


def test_patch_embedding_is_a_strided_convolution() -> None:
    ours = compiled_block("PatchEmbedding", (3, 28, 28), patch_size=7, embed_dim=16)
    conv = nn.Conv2d(3, 16, 7, stride=7)
    ours.load_state_dict({f"proj.{k}": v for k, v in conv.state_dict().items()}, strict=True)
    x = _image(3, 28)
    with torch.no_grad():
        expected = conv(x).flatten(2).transpose(1, 2)
        assert (ours(x) - expected).abs().max().item() < TOLERANCE
    assert expected.shape == (2, 16, 16)


def test_one_class_per_definition_whatever_the_parameters() -> None:
    """Blocks of different sizes, with and without their downsample, share one BasicBlock
    class (in_channels, channels, stride and downsample are its arguments); a boolean
    parameter is an argument too."""
    b = GraphBuilder("stages")
    b.use(library_definitions(), "BasicBlock", "TransformerEncoderPreLN")
    x = b.input("x", (8, 32, 32))
    for i, (cin, cout) in enumerate(((8, 16), (16, 32), (32, 64)), start=1):
        x = b.block(
            "BasicBlock",
            f"layer{i}",
            x,
            in_channels=cin,
            channels=cout,
            stride=2,
            downsample=True,
        )
    x = b.block("BasicBlock", "same", x, in_channels=64, channels=64)
    x = b.layer("flatten", "flatten", x, start_dim=2)
    x = b.layer("permute", "tokens", x, dims=(0, 2, 1))
    x = b.block("TransformerEncoderPreLN", "enc1", x, d_model=64, nhead=4, causal=True)
    x = b.block("TransformerEncoderPreLN", "enc2", x, d_model=64, nhead=4)
    b.output(x)
    source = generate_source(b.graph)
    assert source.count("class BasicBlock(") == 1
    # The downsample chain is drawn in one place (inside BasicBlock): written inline there.
    assert "class Downsample(" not in source
    assert "nn.Sequential(" in source and "if downsample" in source
    assert source.count("class TransformerEncoderPreLN(") == 1
    assert "causal=causal" in source
    # The shared sizes live in the model's config; the differing flag stays at the call.
    assert "d_model: int = 64" in source and "nhead: int = 4" in source
    assert (
        "TransformerEncoderPreLN(d_model=config.d_model, nhead=config.nhead, causal=True)" in source
    )
    assert "self.layer2 = BasicBlock(in_channels=16, channels=32, stride=2, downsample=True)" in (
        source
    )
    assert "self.layer3 = BasicBlock(in_channels=32, stride=2, downsample=True)" in source
    assert "self.same = BasicBlock()" in source
    assert "?" not in "".join(line.split("#", 1)[-1] for line in source.splitlines() if "#" in line)
    module = compile_graph(b.graph).module
    assert module.same.downsample is None and module.layer3.downsample is not None
    assert module.enc1.self_attn.causal and not module.enc2.self_attn.causal
    assert module(torch.randn(2, 8, 32, 32)).shape == (2, 16, 64)


@pytest.mark.parametrize("name", sorted(library_definitions()))
def test_every_library_block_compiles_with_its_defaults(name: str) -> None:
    definition = library_definitions()[name]
    (node,) = definition.input_nodes()
    shape = node.params["shape"]
    if name.startswith(("VGG", "Patch")):  # their 224x224 examples are slow for a unit test
        shape = (shape[0], 32, 32)
    module = compiled_block(name, shape)
    assert type(module).__name__ == name
    classes = {type(m).__name__ for m in module.modules()}
    # Every definition it uses has its class, except a chain inlined as nn.Sequential (the
    # residual blocks' optional downsample) or left out by its defaults.
    assert set(definitions_needed(name)) - {"Downsample"} <= classes
