"""The built-in block library: classic building blocks made of catalogue layers.

Each entry is a :class:`~dlstudio.core.blocks.BlockDefinition` with parameters, help and a
description, built here with :class:`~dlstudio.layers.builder.GraphBuilder` from the layers a
user could draw by hand. Layer names follow the PyTorch modules they stand for (torchvision's
``BasicBlock`` and ``Bottleneck``, ``nn.TransformerEncoderLayer``), so their ``state_dict`` keys
match and weights carry over. Some definitions use others (``BasicBlock`` holds an optional
``Downsample``): :func:`definitions_needed` lists what to copy into a project with one.

The nodes have no layout (position (0, 0)); lay a definition out when it is inserted.
"""

from __future__ import annotations

from functools import cache

from dlstudio.core.blocks import BlockDefinition, BlockParam, definition_order
from dlstudio.layers.builder import GraphBuilder, Tensor

_CHANNELS_MAX = 65_536


def _int(name: str, default: int, help_text: str, minimum: int = 1, maximum: int = _CHANNELS_MAX):
    return BlockParam(name, "int", default, help_text, minimum=minimum, maximum=maximum)


def _in_channels(default: int) -> BlockParam:
    return _int(
        "in_channels",
        default,
        "Channels of the block's input. Set it to what arrives (the analysis infers the real "
        "size); the generated class takes it as an argument so one class serves every stage.",
    )


_STRIDE = _int(
    "stride", 1, "Stride of the first 3x3 convolution: 2 halves the height and width.", maximum=8
)
_DOWNSAMPLE = BlockParam(
    "downsample",
    "bool",
    False,
    "Give the shortcut a 1x1 convolution and BatchNorm (torchvision's downsample), for the "
    "first block of a stage, where the size or the channels change. Off: the input is added "
    "back unchanged.",
)


def _downsample(root: GraphBuilder) -> None:
    d = root.define(
        "Downsample",
        (_in_channels(64), _int("channels", 128, "Output channels."), _STRIDE),
        """The shortcut of a residual block that changes size: 1x1 convolution and BatchNorm.
        It reshapes the block's input to the block's output size (torchvision's downsample);
        its layers are numbered 0 and 1, like the nn.Sequential it becomes.""",
    )
    x = d.input("x", (64, 56, 56))
    y = d.layer(
        "conv2d", "0", x, out_channels="=channels", kernel_size=1, stride="=stride", bias=False
    )
    y = d.layer("batchnorm2d", "1", y)
    d.output(y, "out")
    d.end_block()


def _basic_block(root: GraphBuilder) -> None:
    params = (
        _in_channels(64),
        _int("channels", 64, "Output channels of both convolutions."),
        _STRIDE,
        _DOWNSAMPLE,
    )
    text = """ResNet's BasicBlock: two 3x3 convolutions and a skip connection.
    As in torchvision's BasicBlock (He et al., 2015): the convolutions have BatchNorm and a ReLU
    between them, the first one has the block's stride; the block's input is added back to
    the result (the skip connection), then ReLU. With downsample on, the shortcut goes through
    a 1x1 convolution and BatchNorm first, so it matches a new size (the first block of a
    stage); off, input and output have the same size."""
    d = root.define("BasicBlock", params, text)
    x = d.input("x", (64, 56, 56))
    y = d.layer(
        "conv2d",
        "conv1",
        x,
        out_channels="=channels",
        kernel_size=3,
        stride="=stride",
        padding=1,
        bias=False,
    )
    y = d.layer("batchnorm2d", "bn1", y)
    y = d.layer("relu", "relu1", y)
    y = d.layer(
        "conv2d", "conv2", y, out_channels="=channels", kernel_size=3, padding=1, bias=False
    )
    y = d.layer("batchnorm2d", "bn2", y)
    _end_residual(d, x, y, "=channels", "relu2")


def _end_residual(d: GraphBuilder, x: Tensor, y: Tensor, channels: str, relu: str) -> None:
    """The end every residual block shares: the shortcut (through ``downsample`` when that
    parameter is on), the sum, ReLU, the output; then the definition is added."""
    identity = d.block(
        "Downsample",
        "downsample",
        x,
        when="downsample",
        in_channels="=in_channels",
        channels=channels,
        stride="=stride",
    )
    y = d.layer("add", "add", y, identity)
    y = d.layer("relu", relu, y)
    d.output(y, "out")
    d.end_block()


def _bottleneck(root: GraphBuilder) -> None:
    params = (
        _in_channels(256),
        _int(
            "width",
            64,
            "Channels of the inner 3x3 convolution; the block outputs 4 x width channels.",
        ),
        _STRIDE,
        _DOWNSAMPLE,
    )
    text = """ResNet's Bottleneck: 1x1, 3x3 and 1x1 convolutions and a skip connection.
    As in torchvision's Bottleneck (ResNet-50/101/152): a 1x1 convolution squeezes the input to
    width channels, a 3x3 convolution (with the block's stride) works at that width, a 1x1
    convolution expands to 4 x width, each with BatchNorm; the input is added back (skip
    connection) and ReLU follows. Cheaper than two 3x3 convolutions at full width. With
    downsample on, the shortcut goes through a 1x1 convolution and BatchNorm first (the first
    block of a stage)."""
    d = root.define("Bottleneck", params, text)
    x = d.input("x", (256, 56, 56))
    y = d.layer("conv2d", "conv1", x, out_channels="=width", kernel_size=1, bias=False)
    y = d.layer("batchnorm2d", "bn1", y)
    y = d.layer("relu", "relu1", y)
    y = d.layer(
        "conv2d",
        "conv2",
        y,
        out_channels="=width",
        kernel_size=3,
        stride="=stride",
        padding=1,
        bias=False,
    )
    y = d.layer("batchnorm2d", "bn2", y)
    y = d.layer("relu", "relu2", y)
    y = d.layer("conv2d", "conv3", y, out_channels="=width * 4", kernel_size=1, bias=False)
    y = d.layer("batchnorm2d", "bn3", y)
    _end_residual(d, x, y, "=width * 4", "relu3")


def _vgg_block(root: GraphBuilder, convs: int) -> None:
    d = root.define(
        f"VGGBlock{convs}",
        (_in_channels(64), _int("channels", 128, "Output channels of every convolution.")),
        f"""A VGG stage: {convs} 3x3 convolutions with ReLU, then 2x2 max pooling.
        As in Simonyan and Zisserman (2014): {convs} 3x3 convolutions with padding 1,
        each followed by ReLU, then 2x2 max pooling that halves the height and width. VGG-16
        stacks two of these with 2 convolutions and three with 3.""",
    )
    y = d.input("x", (64, 224, 224))
    for i in range(1, convs + 1):
        y = d.layer("conv2d", f"conv{i}", y, out_channels="=channels", kernel_size=3, padding=1)
        y = d.layer("relu", f"relu{i}", y)
    y = d.layer("maxpool2d", "pool", y, kernel_size=2, stride=2)
    d.output(y, "out")
    d.end_block()


def transformer_encoder(
    root: GraphBuilder, name: str, norm_first: bool, activation: str = "relu"
) -> str:
    """Define a Transformer encoder block called ``name`` in ``root``'s document: multi-head
    self-attention and a feed-forward network, each in a residual connection with a
    LayerNorm, after the sum (post-LN, ``nn.TransformerEncoderLayer``) or before the
    sub-layer (``norm_first``, pre-LN). Layer names are those of
    ``nn.TransformerEncoderLayer``, so its weights load. Returns ``name``."""
    params = (
        _int("d_model", 512, "Width of every token (the input's last dimension)."),
        _int("nhead", 8, "Number of attention heads; must divide d_model.", maximum=1024),
        _int(
            "dim_feedforward",
            2048,
            "Hidden width of the feed-forward network (often 4 x d_model).",
            maximum=1_000_000,
        ),
        BlockParam(
            "dropout",
            "float",
            0.1,
            "Dropout on the attention weights and after each sub-layer.",
            minimum=0.0,
            maximum=0.99,
        ),
        BlockParam(
            "causal",
            "bool",
            False,
            "Mask future positions: step t attends only to steps 0..t (GPT).",
        ),
    )
    act = "GELU" if activation == "gelu" else "ReLU"
    if norm_first:
        text = f"""A pre-LN Transformer encoder block (GPT-2, ViT).
        It computes x + SelfAttention(LN(x)),
        then h + FeedForward(LN(h)), the feed-forward network being Dense d_model ->
        dim_feedforward, {act}, Dense back. Normalising before each sub-layer keeps the
        residual path clean, which trains more stably in deep stacks. With causal on it is
        GPT's decoder block."""
    else:
        text = f"""A post-LN Transformer encoder block, as nn.TransformerEncoderLayer computes it.
        As in "Attention Is All You Need": LN(x + SelfAttention(x)), then LN(h + FeedForward(h)),
        the feed-forward network being Dense d_model -> dim_feedforward, {act}, Dense back.
        The shape is unchanged, (N, T, d_model)."""
    d = root.define(name, params, text)
    x = d.input("x", ("T", 512))

    def attention(y):
        y = d.layer(
            "multihead_attention",
            "self_attn",
            ports={"query": y},
            num_heads="=nhead",
            dropout="=dropout",
            causal="=causal",
        )
        return d.layer("dropout", "dropout1", y, p="=dropout")

    def feed_forward(y):
        y = d.layer("dense", "linear1", y, units="=dim_feedforward")
        y = d.layer(activation, "activation", y)
        y = d.layer("dropout", "dropout", y, p="=dropout")
        y = d.layer("dense", "linear2", y, units="=d_model")
        return d.layer("dropout", "dropout2", y, p="=dropout")

    if norm_first:
        h = d.layer("add", "add1", x, attention(d.layer("layernorm", "norm1", x)))
        y = d.layer("add", "add2", h, feed_forward(d.layer("layernorm", "norm2", h)))
    else:
        h = d.layer("layernorm", "norm1", d.layer("add", "add1", x, attention(x)))
        y = d.layer("layernorm", "norm2", d.layer("add", "add2", h, feed_forward(h)))
    d.output(y, "out")
    return d.end_block()


def _patch_embedding(root: GraphBuilder) -> None:
    d = root.define(
        "PatchEmbedding",
        (
            _int("patch_size", 16, "Height and width of each square patch, in pixels.", 1, 1024),
            _int("embed_dim", 768, "Width of each patch token."),
        ),
        """The Vision Transformer's patch embedding: image to a sequence of patch tokens.
        As in Dosovitskiy et al. (2020), a convolution
        whose kernel and stride are the patch size cuts the image into patches and projects
        each to an embed_dim vector (the same as one shared Dense layer per flattened patch);
        the grid is then flattened into a sequence of tokens, (N, C, H, W) -> (N, H/p x W/p,
        embed_dim).""",
    )
    x = d.input("image", (3, 224, 224))
    y = d.layer(
        "conv2d",
        "proj",
        x,
        out_channels="=embed_dim",
        kernel_size="=patch_size",
        stride="=patch_size",
    )
    y = d.layer("flatten", "flatten", y, start_dim=2)
    y = d.layer("permute", "to_tokens", y, dims=(0, 2, 1))
    d.output(y, "tokens")
    d.end_block()


@cache
def _library() -> dict[str, BlockDefinition]:
    root = GraphBuilder("library")
    _downsample(root)
    _basic_block(root)
    _bottleneck(root)
    _vgg_block(root, 2)
    _vgg_block(root, 3)
    transformer_encoder(root, "TransformerEncoderPostLN", norm_first=False)
    transformer_encoder(root, "TransformerEncoderPreLN", norm_first=True, activation="gelu")
    _patch_embedding(root)
    return root.graph.blocks


def library_definitions() -> dict[str, BlockDefinition]:
    """Every built-in block definition by name (fresh copies, safe to change)."""
    return {name: d.copy() for name, d in _library().items()}


def definitions_needed(name: str) -> list[str]:
    """Library definition ``name`` and every definition it uses, each after those it uses:
    what to copy into a project that gets an instance of ``name``."""
    if name not in _library():
        known = ", ".join(sorted(_library()))
        raise KeyError(f"no built-in block {name!r} (built-in blocks: {known})")
    return definition_order(_library(), [name])
