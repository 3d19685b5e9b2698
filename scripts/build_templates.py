"""Build the template library: every ``templates/<name>.json`` comes from a function here.

Run ``.venv/bin/python scripts/build_templates.py`` after changing a template (or the layer
catalogue, or the block library) and commit the regenerated JSON with it. Each template is built
with :class:`GraphBuilder` (the package's :class:`dlstudio.layers.builder.GraphBuilder` plus
:meth:`GraphBuilder.finish`), validated (no errors, no warnings), laid out with
:func:`dlstudio.analysis.layout.auto_layout` (its block definitions too), and saved with
:func:`dlstudio.core.save_project`. Models made of blocks take their blocks from the built-in
library (:mod:`dlstudio.layers.block_library`) where one fits.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
"""The repository root."""
if str(ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(ROOT))

from dlstudio.analysis import analyze  # noqa: E402
from dlstudio.analysis.layout import auto_layout  # noqa: E402
from dlstudio.core import LayerGraph, PortRef, save_project  # noqa: E402
from dlstudio.core.blocks import BlockParam  # noqa: E402
from dlstudio.layers import builder  # noqa: E402
from dlstudio.layers.block_library import library_definitions, transformer_encoder  # noqa: E402
from dlstudio.layers.builder import Tensor  # noqa: E402

TEMPLATES_DIR = ROOT / "templates"
"""Where the template files live (and the gallery reads them)."""

LIBRARY = library_definitions()
"""The built-in block library (dlstudio/layers/block_library.py)."""


class GraphBuilder(builder.GraphBuilder):
    """The package's builder plus :meth:`finish`: validation, auto layout and gallery metadata."""

    def use_library(self, *names: str) -> None:
        """Copy built-in block definitions (and those they use) into this document."""
        self.use(LIBRARY, *names)

    def finish(
        self,
        title: str,
        description: str,
        training: dict[str, Any],
        category: str,
        direction: str = "TB",
    ) -> LayerGraph:
        """Attach the gallery metadata, validate (the training settings count: the loss) and
        lay out (every definition too); returns the finished graph."""
        self.graph.metadata = {
            "title": title,
            "category": category,
            "description": " ".join(description.split()),
            "training": training,
        }
        result = analyze(self.graph)
        if result.diagnostics:
            problems = "\n  ".join(d.message for d in result.diagnostics)
            raise SystemExit(f"template {self.graph.name} does not validate:\n  {problems}")
        for definition in self.graph.blocks.values():
            for node_id, position in auto_layout(definition.graph, "TB").items():
                definition.graph.update_node(node_id, position=position)
            definition.graph.revision = 0
        # Laid out for the canvas of a 1280x800 window: a long chain folds into side-by-side
        # bands where that makes it larger when fitted (auto layout does the same for the view).
        for node_id, position in auto_layout(self.graph, direction, TEMPLATE_VIEW).items():
            self.graph.update_node(node_id, position=position)
        return self.graph


TEMPLATE_VIEW = (770.0, 520.0)
"""The canvas of a 1280x800 window (pixels), which templates are laid out to fit."""


def _training(**settings: Any) -> dict[str, Any]:
    """Training settings with the defaults every template shares (see docs/contracts.md)."""
    base: dict[str, Any] = {
        "dataset": None,
        "dataset_options": {},
        "task": "classification",
        "loss": "cross_entropy",
        "metric": "accuracy",
        "optimizer": "adam",
        "lr": 0.001,
        "weight_decay": 0.0,
        "schedule": "none",
        "warmup_steps": 0,
        "epochs": 10,
        "batch_size": 64,
        "val_fraction": 0.2,
        "seed": 0,
        "grad_clip": 0.0,
    }
    base.update(settings)
    return base


# ------------------------------------------------------------------ vision
def mlp_mnist() -> LayerGraph:
    """784 -> 16 -> 16 -> 10 with ReLU: 13,002 parameters (3Blue1Brown's network)."""
    b = GraphBuilder("mlp-mnist")
    x = b.input("image", (784,))
    x = b.layer("dense", "fc1", x, units=16)
    x = b.layer("relu", "relu1", x)
    x = b.layer("dense", "fc2", x, units=16)
    x = b.layer("relu", "relu2", x)
    x = b.layer("dense", "fc3", x, units=10)
    b.output(x, "logits")
    return b.finish(
        "MLP for handwritten digits",
        """A multilayer perceptron, the network of 3Blue1Brown's "But what is a neural
        network?": each 28x28 digit image is flattened to 784 pixel values, passes two hidden
        layers of 16 ReLU neurons and ends in 10 scores, one per digit. 13,002 parameters, all
        in three Dense layers. Train it on the built-in digits (resized to 28x28 and flattened)
        and watch the accuracy climb past 90% in seconds; then try more neurons, a third hidden
        layer, or Sigmoid instead of ReLU.""",
        _training(
            dataset="digits",
            dataset_options={"resize": 28, "flatten": True},
            epochs=20,
            batch_size=32,
        ),
        "Vision",
    )


def lenet5() -> LayerGraph:
    """LeCun's LeNet-5 on 28x28 digits: 61,706 parameters."""
    b = GraphBuilder("lenet5")
    x = b.input("image", (1, 28, 28))
    x = b.layer("conv2d", "conv1", x, out_channels=6, kernel_size=5, padding=2)
    x = b.layer("relu", "relu1", x)
    x = b.layer("maxpool2d", "pool1", x, kernel_size=2, stride=2)
    x = b.layer("conv2d", "conv2", x, out_channels=16, kernel_size=5)
    x = b.layer("relu", "relu2", x)
    x = b.layer("maxpool2d", "pool2", x, kernel_size=2, stride=2)
    x = b.layer("flatten", "flatten", x)
    x = b.layer("dense", "fc1", x, units=120)
    x = b.layer("relu", "relu3", x)
    x = b.layer("dense", "fc2", x, units=84)
    x = b.layer("relu", "relu4", x)
    x = b.layer("dense", "fc3", x, units=10)
    b.output(x, "logits")
    return b.finish(
        "LeNet-5",
        """The convolutional network of LeCun et al. (1998) that read cheques: two
        convolution + pooling stages learn strokes and then digit parts, and three Dense layers
        (400 -> 120 -> 84 -> 10) classify them. Padding 2 on the first convolution lets a 28x28
        MNIST-style image stand in for the original 32x32 input, so every shape matches the
        paper: 6@28x28, 6@14x14, 16@10x10, 16@5x5. 61,706 parameters; ReLU and max pooling here
        (the original used tanh-like units and average pooling, with the same parameter
        count). Trains on the built-in digits at 28x28 to about 97% in under a minute on a
        CPU.""",
        _training(dataset="digits", dataset_options={"resize": 28}, epochs=10, batch_size=32),
        "Vision",
    )


def _stem(b: GraphBuilder, x: Tensor) -> Tensor:
    """torchvision's ResNet stem: 7x7 stride-2 convolution, BatchNorm, ReLU, 3x3 max pooling."""
    x = b.layer(
        "conv2d", "conv1", x, out_channels=64, kernel_size=7, stride=2, padding=3, bias=False
    )
    x = b.layer("batchnorm2d", "bn1", x)
    x = b.layer("relu", "relu", x)
    return b.layer("maxpool2d", "maxpool", x, kernel_size=3, stride=2, padding=1)


def _stage_params(
    width: str, help_text: str, defaults: tuple[int, int, int]
) -> tuple[BlockParam, ...]:
    cin, out, stride = defaults
    return (
        BlockParam(
            "in_channels",
            "int",
            cin,
            "Channels of the stage's input (the previous stage's output).",
            minimum=1,
            maximum=65_536,
        ),
        BlockParam(width, "int", out, help_text, minimum=1, maximum=65_536),
        BlockParam("stride", "int", stride, "Stride of the first block.", minimum=1, maximum=8),
    )


def _resnet_stage(
    b: GraphBuilder, name: str, kind: str, blocks: int, defaults: tuple[int, int, int], size: int
) -> str:
    """A stage as torchvision builds it: an nn.Sequential of ``blocks`` blocks named 0, 1, ...,
    the first changing size (its ``downsample`` on), the others keeping it. ``defaults`` are the
    parameters (in_channels, channels or width, stride) of its first use, ``size`` that use's
    input height and width."""
    width = "channels" if kind == "BasicBlock" else "width"
    help_text = (
        "Output channels of every block."
        if kind == "BasicBlock"
        else "Inner width of every Bottleneck (the stage outputs 4 x width channels)."
    )
    s = b.define(
        name,
        _stage_params(width, help_text, defaults),
        f"""A ResNet stage: {blocks} {kind}s, the first one changing the size.
        Numbered 0, 1, ... like torchvision's layer1..layer4: block 0 has stride and a
        downsample shortcut, the others keep the size.""",
    )
    y = s.input("x", (defaults[0], size, size))
    y = s.block(
        kind,
        "0",
        y,
        in_channels="=in_channels",
        stride="=stride",
        downsample=True,
        **{width: f"={width}"},
    )
    out_channels = "=channels" if kind == "BasicBlock" else "=width * 4"
    for i in range(1, blocks):
        y = s.block(kind, str(i), y, in_channels=out_channels, **{width: f"={width}"})
    s.output(y, "out")
    return s.end_block()


def _resnet_head(b: GraphBuilder, x: Tensor) -> None:
    x = b.layer("adaptive_avgpool2d", "avgpool", x, output_size=1)
    x = b.layer("flatten", "flatten", x)
    x = b.layer("dense", "fc", x, units=1000)
    b.output(x, "logits")


def _shapes_training(n_samples: int, epochs: int, batch_size: int, lr: float) -> dict[str, Any]:
    """Settings of an ImageNet-sized template: the generated ``shapes`` images at its 224x224
    input, few enough of them and few enough epochs for a CPU (ImageNet itself is 150 GB)."""
    return _training(
        dataset="shapes",
        dataset_options={"size": 224, "n_samples": n_samples},
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
    )


def resnet18() -> LayerGraph:
    """torchvision's resnet18 for 224x224 ImageNet: 11,689,512 parameters, its module tree."""
    b = GraphBuilder("resnet18")
    b.use_library("BasicBlock")
    stage = _resnet_stage(b, "BasicStage", "BasicBlock", 2, (64, 128, 2), 56)
    x = _stem(b, b.input("image", (3, 224, 224)))
    x = b.block("BasicBlock", "layer1", x, repeat=2, channels=64)
    x = b.block(stage, "layer2", x, in_channels=64, channels=128, stride=2)
    x = b.block(stage, "layer3", x, in_channels=128, channels=256, stride=2)
    x = b.block(stage, "layer4", x, in_channels=256, channels=512, stride=2)
    _resnet_head(b, x)
    return b.finish(
        "ResNet-18 (ImageNet)",
        """The 18-layer residual network of He et al. (2015), module for module as torchvision
        builds it: a 7x7 stride-2 stem with max pooling, four stages of two BasicBlocks (64,
        128, 256 and 512 channels), global average pooling and a 1000-class Dense layer;
        11,689,512 parameters. Each BasicBlock adds its input back to its output (the skip
        connection); the first block of stages 2-4 halves the size and reshapes that shortcut
        with a 1x1 convolution (downsample). The stages are blocks: double-click one to see
        inside. The weights' names are torchvision's (layer2.0.downsample.0.weight), so its
        pretrained weights load into this model as they are. It is the ImageNet architecture,
        for study and transfer learning. It opens on the generated shapes data set at 224x224
        (500 images of a circle, square, triangle or cross; 3 epochs take a few minutes on a
        CPU) so Train works at once; its 1000 scores are ImageNet's classes (the data box
        offers to set fc to 4). For a ResNet that learns well here, open "Small ResNet".""",
        _shapes_training(500, 3, 16, 0.001),
        "Vision",
    )


def resnet50() -> LayerGraph:
    """torchvision's resnet50 for 224x224 ImageNet: 25,557,032 parameters, its module tree."""
    b = GraphBuilder("resnet50")
    b.use_library("Bottleneck")
    first_uses = {3: ((64, 64, 1), 56), 4: ((256, 128, 2), 56), 6: ((512, 256, 2), 28)}
    stages = {
        n: _resnet_stage(b, f"BottleneckStage{n}", "Bottleneck", n, *use)
        for n, use in first_uses.items()
    }
    x = _stem(b, b.input("image", (3, 224, 224)))
    x = b.block(stages[3], "layer1", x, in_channels=64, width=64, stride=1)
    x = b.block(stages[4], "layer2", x, in_channels=256, width=128, stride=2)
    x = b.block(stages[6], "layer3", x, in_channels=512, width=256, stride=2)
    x = b.block(stages[3], "layer4", x, in_channels=1024, width=512, stride=2)
    _resnet_head(b, x)
    return b.finish(
        "ResNet-50 (ImageNet)",
        """The 50-layer residual network of He et al. (2015) as torchvision builds it (the
        v1.5 variant, stride on the 3x3 convolution): the ResNet stem, four stages of 3, 4, 6
        and 3 Bottleneck blocks and a 1000-class Dense layer; 25,557,032 parameters. A
        Bottleneck squeezes its input to a narrow width with a 1x1 convolution, works at that
        width with a 3x3 convolution and expands to 4 x width with another 1x1, so a block at
        2048 channels costs little more than one at 512. Module paths and weights' names are
        torchvision's (layer3.5.conv2.weight): its pretrained weights load as they are, the
        usual start of transfer learning. It opens on the generated shapes data set at
        224x224 (300 images, 2 epochs: several minutes on a CPU), enough to see it train; far
        too little to learn much from scratch.""",
        _shapes_training(300, 2, 16, 0.001),
        "Vision",
    )


def vgg16() -> LayerGraph:
    """VGG-16 (configuration D) for 224x224 ImageNet: 138,357,544 parameters."""
    b = GraphBuilder("vgg16")
    b.use_library("VGGBlock2", "VGGBlock3")
    x = b.input("image", (3, 224, 224))
    stages = ((2, 3, 64), (2, 64, 128), (3, 128, 256), (3, 256, 512), (3, 512, 512))
    for i, (convs, cin, cout) in enumerate(stages, start=1):
        x = b.block(f"VGGBlock{convs}", f"block{i}", x, in_channels=cin, channels=cout)
    x = b.layer("adaptive_avgpool2d", "avgpool", x, output_size=7)
    x = b.layer("flatten", "flatten", x)
    for i in (1, 2):
        x = b.layer("dense", f"fc{i}", x, units=4096)
        x = b.layer("relu", f"relu{i}", x)
        x = b.layer("dropout", f"dropout{i}", x, p=0.5)
    x = b.layer("dense", "fc3", x, units=1000)
    b.output(x, "logits")
    return b.finish(
        "VGG-16 (ImageNet)",
        """The 16-layer network of Simonyan and Zisserman (2014), configuration D: five VGG
        blocks of 3x3 convolutions with ReLU, each ending in 2x2 max pooling (2, 2, 3, 3 and 3
        convolutions with 64, 128, 256, 512 and 512 channels), then three Dense layers of
        4096, 4096 and 1000 units with dropout; 138,357,544 parameters, the count of
        torchvision's vgg16. Small kernels stacked deep see as far as one big kernel with
        fewer weights; most of the weights (over 100 million) sit in the first Dense layer,
        which is why later networks replaced it with global pooling. It opens on the generated
        shapes data set at 224x224 (200 images, 2 epochs at a small learning rate, as VGG has
        no BatchNorm: several minutes on a CPU), enough to see it train, far too little to
        learn much from scratch.""",
        _shapes_training(200, 2, 8, 0.0001),
        "Vision",
    )


def resnet_small() -> LayerGraph:
    """A CIFAR-style ResNet: three stages of one BasicBlock (16, 32, 64 channels) on 28x28."""
    b = GraphBuilder("resnet-cifar")
    b.use_library("BasicBlock")
    x = b.input("image", (1, 28, 28))
    x = b.layer("conv2d", "conv1", x, out_channels=16, kernel_size=3, padding=1, bias=False)
    x = b.layer("batchnorm2d", "bn1", x)
    x = b.layer("relu", "relu", x)
    x = b.block("BasicBlock", "layer1", x, in_channels=16, channels=16)
    x = b.block("BasicBlock", "layer2", x, in_channels=16, channels=32, stride=2, downsample=True)
    x = b.block("BasicBlock", "layer3", x, in_channels=32, channels=64, stride=2, downsample=True)
    x = b.layer("global_avgpool", "avgpool", x)
    x = b.layer("dense", "fc", x, units=10)
    b.output(x, "logits")
    return b.finish(
        "Small ResNet",
        """A residual network sized for small images, after the CIFAR ResNets of He et al.:
        a 3x3 stem and three stages of one BasicBlock each with 16, 32 and 64 channels (28x28,
        14x14 and 7x7 maps), global average pooling and a 10-class Dense layer; about 78,000
        parameters. Every block adds its input to its output through a skip connection; where
        a block halves the size (its downsample on), a 1x1 convolution with stride 2 reshapes the
        shortcut. BatchNorm after each convolution keeps training stable. Trains on the
        built-in digits at 28x28 to about 98% within a minute on a CPU; set repeat on layer1
        to see how depth changes things.""",
        _training(dataset="digits", dataset_options={"resize": 28}, epochs=6, batch_size=32),
        "Vision",
    )


def vit_tiny() -> LayerGraph:
    """A Vision Transformer for 28x28 digits: 7x7 patches, 64-dim tokens, two encoder layers."""
    b = GraphBuilder("vit-tiny")
    b.use_library("PatchEmbedding", "TransformerEncoderPreLN")
    x = b.input("image", (1, 28, 28))
    # A convolution with stride = kernel = patch size is the same as cutting 7x7 patches and
    # projecting each with one shared Dense layer; the block then makes the grid a sequence.
    x = b.block("PatchEmbedding", "patch_embed", x, patch_size=7, embed_dim=64)  # (N, 16, 64)
    x = b.layer("cls_token", "cls_token", x)  # (N, 17, 64)
    x = b.layer("positional_encoding", "pos_embed", x, mode="learned", max_len=17, dropout=0.0)
    x = b.block(
        "TransformerEncoderPreLN",
        "blocks",
        x,
        repeat=2,
        d_model=64,
        nhead=4,
        dim_feedforward=128,
        dropout=0.0,
    )
    x = b.layer("layernorm", "norm", x)
    x = b.layer("select_step", "cls_out", x, which="first")
    x = b.layer("dense", "head", x, units=10)
    b.output(x, "logits")
    return b.finish(
        "Vision Transformer (tiny)",
        """A Vision Transformer (Dosovitskiy et al., 2020) at toy size: the 28x28 image is
        cut into 16 patches of 7x7 pixels by a stride-7 convolution (the PatchEmbedding
        block), each patch becomes a 64-dim token, a learned class token is put in front and
        learned position embeddings are added. Two pre-norm encoder blocks (4 heads, GELU
        feed-forward of 128; one block repeated twice) let every patch attend to every other; the class token's final vector, after LayerNorm, feeds
        a 10-class Dense head. About 72,000 parameters. Trains on the built-in digits at 28x28
        in a couple of minutes on a CPU; it needs more data than a CNN to shine, which is the
        lesson.""",
        _training(
            dataset="digits",
            dataset_options={"resize": 28},
            optimizer="adamw",
            lr=0.002,
            weight_decay=0.01,
            schedule="cosine",
            epochs=15,
            batch_size=64,
        ),
        "Vision",
    )


# ---------------------------------------------------------------- sequences
SENTIMENT_VOCAB = 35
"""Token ids of the built-in ``sentiment`` data set (padding 0, unknown 1, 33 words)."""
SENTIMENT_LEN = 16
"""Words per ``sentiment`` sentence (cut or padded)."""
COPY_VOCAB = 12
"""Token ids of ``copy`` / ``reverse`` with 10 symbols: padding 0, BOS 1, symbols 2..11."""
COPY_LEN = 8
"""Symbols per ``copy`` / ``reverse`` string."""
DIGITS_VOCAB = 12
"""Token ids of ``binary_to_decimal``: padding 0, BOS 1, digits 0-9 as 2..11."""
SKIPGRAM_VOCAB = 73
"""Words in the built-in skip-gram text (with padding and unknown)."""


def lstm_classifier() -> LayerGraph:
    """Embedding -> bidirectional LSTM (last step) -> Dense: many-to-one sentiment."""
    b = GraphBuilder("lstm-classifier")
    x = b.input("tokens", ("T",), dtype="int64", seq_len=SENTIMENT_LEN, vocab_size=SENTIMENT_VOCAB)
    x = b.layer(
        "embedding", "embed", x, num_embeddings=SENTIMENT_VOCAB, embedding_dim=32, padding_idx=0
    )
    x = b.layer("lstm", "lstm", x, hidden_size=64, bidirectional=True, return_sequences=False)
    x = b.layer("dense", "classifier", x, units=2)
    b.output(x, "logits")
    return b.finish(
        "LSTM text classifier",
        """Many-to-one sequence classification: each word id becomes a 32-dim vector, a
        bidirectional LSTM reads the sentence forwards and backwards, and its two final hidden
        states (64 + 64 features) feed a Dense layer that says negative or positive. The
        built-in sentiment sentences are made so that word order matters ("the plot was dull
        but the music was great" is positive): a bag of words cannot solve them, an LSTM
        can. Padding id 0 maps to a zero vector.""",
        _training(
            dataset="sentiment",
            dataset_options={"seq_len": SENTIMENT_LEN},
            lr=0.003,
            epochs=5,
            batch_size=32,
        ),
        "Sequences",
    )


def seq2seq_lstm() -> LayerGraph:
    """LSTM encoder-decoder: 12 binary digits in, 4 decimal digits out."""
    b = GraphBuilder("seq2seq-lstm")
    x = b.input("bits", (12,), dtype="int64", vocab_size=DIGITS_VOCAB)
    x = b.layer("embedding", "embed", x, num_embeddings=DIGITS_VOCAB, embedding_dim=16)
    x = b.layer("lstm", "encoder", x, hidden_size=128, return_sequences=False)
    # The encoder's summary vector is handed to every decoder step.
    x = b.layer("repeat_vector", "repeat", x, times=4)
    x = b.layer("lstm", "decoder", x, hidden_size=128, return_sequences=True)
    x = b.layer("dense", "classifier", x, units=DIGITS_VOCAB)  # scores at every step
    b.output(x, "logits")
    return b.finish(
        "Seq2seq LSTM: binary to decimal",
        """The classic encoder-decoder (Sutskever et al., 2014) in its simplest Keras-style
        form: an LSTM encoder reads 12 binary digits and keeps only its last hidden state, a
        RepeatVector hands that summary to each of the 4 output steps, a decoder LSTM unrolls
        the answer, and the same Dense layer scores the 12 tokens (padding and 0-9) at every
        step, so 111101001010 becomes 3914. As in the lecture's exercise, the examples are
        20,000 numbers drawn at random from the 4,096 possible, so most validation numbers also
        occur in training: it gets over 90% of them exactly right (all four digits) after
        about 30 epochs, a minute or two on a CPU. That measures how well it fits the table.
        To see how well it generalises, delete n_samples from the data set options: every
        number then appears once and the validation numbers are new, and even after 150 epochs
        only about half come out exactly right. The whole input has to squeeze through one
        128-dim vector: the bottleneck that attention was invented to remove.""",
        # Batches of 256 at a higher rate: the same accuracy in about two thirds of the time.
        _digits_training(epochs=30, batch_size=256, lr=0.02),
        "Sequences",
    )


def _digits_training(
    epochs: int, batch_size: int = 64, lr: float = 0.005, **options: Any
) -> dict[str, Any]:
    """The seq2seq templates' settings on binary-to-decimal (``options``: data set options)."""
    return _training(
        dataset="binary_to_decimal",
        dataset_options={"bits": 12, "n_samples": 20000, **options},
        task="sequence_classification",
        metric="exact_match",
        lr=lr,
        # The exact-match curve rises late; the one-cycle schedule's slow end gets there.
        schedule="onecycle",
        epochs=epochs,
        batch_size=batch_size,
        val_fraction=0.1,
        grad_clip=1.0,
    )


def seq2seq_state() -> LayerGraph:
    """LSTM encoder whose final (state, cell) starts the decoder LSTM, with teacher forcing."""
    b = GraphBuilder("seq2seq-state")
    src = b.input("bits", (12,), dtype="int64", vocab_size=DIGITS_VOCAB)
    tgt = b.input("tgt_in", (4,), dtype="int64", vocab_size=DIGITS_VOCAB)
    src = b.layer("embedding", "src_embed", src, num_embeddings=DIGITS_VOCAB, embedding_dim=32)
    encoder = b.layer("lstm", "encoder", src, hidden_size=128)
    tgt = b.layer("embedding", "tgt_embed", tgt, num_embeddings=DIGITS_VOCAB, embedding_dim=32)
    # The encoder's final hidden and cell states are the decoder's starting state.
    state, cell = PortRef(encoder.node, "state"), PortRef(encoder.node, "cell")
    x = b.layer(
        "lstm",
        "decoder",
        ports={"in": tgt, "h0": state, "c0": cell},
        hidden_size=128,
        return_sequences=True,
    )
    x = b.layer("dense", "classifier", x, units=DIGITS_VOCAB)
    b.output(x, "logits")
    return b.finish(
        "Seq2seq LSTM with state passing",
        """The encoder-decoder of Sutskever et al. (2014) as it is usually written: an LSTM
        encoder reads the 12 binary digits, and its final hidden state and cell state (the
        'state' and 'cell' outputs) become the decoder LSTM's initial state (its h0 and c0
        inputs), instead of being repeated as an input at every step. The decoder reads the
        answer so far, shifted right with a BOS token first (teacher forcing), and a Dense
        layer scores the 12 tokens at each of the 4 output places. Validation is teacher
        forced too, so it measures next-digit prediction given the true digits before it;
        generating an answer digit by digit would feed back the model's own guesses.""",
        _digits_training(epochs=20, teacher_forcing=True),
        "Sequences",
    )


def gru_forecaster() -> LayerGraph:
    """Noisy sine forecasting: a GRU reads 20 past values and predicts the next."""
    b = GraphBuilder("gru-forecaster")
    x = b.input("window", ("T", 1), seq_len=20)
    x = b.layer("gru", "gru", x, hidden_size=32, return_sequences=False)
    x = b.layer("dense", "forecast", x, units=1)
    b.output(x, "next_value")
    return b.finish(
        "GRU time-series forecaster",
        """Forecasting with a recurrent network: a GRU reads a window of 20 past values of a
        noisy sine wave, one per time step, and its last hidden state goes through a Dense
        layer that predicts the next value. Trained with mean squared error and reported as
        mean absolute error; the validation set is the end of the series, so the model is
        judged on a future it has not seen. A good fit reaches an error close to the noise
        level (0.1 standard deviation).""",
        _training(
            dataset="sine",
            dataset_options={"window": 20, "horizon": 1},
            task="regression",
            loss="mse",
            metric="mae",
            lr=0.003,
            epochs=20,
            batch_size=32,
        ),
        "Sequences",
    )


def word2vec() -> LayerGraph:
    """Skip-gram word2vec: center word -> Embedding -> Dense over the vocabulary -> LogSoftmax."""
    b = GraphBuilder("word2vec")
    # One id per example; an Input needs at least one size, so the id comes as (N, 1).
    x = b.input("center", (1,), dtype="int64", vocab_size=SKIPGRAM_VOCAB)
    x = b.layer("embedding", "embed", x, num_embeddings=SKIPGRAM_VOCAB, embedding_dim=16)
    x = b.layer("flatten", "flatten", x)  # (N, 1, 16) -> (N, 16)
    x = b.layer("dense", "context", x, units=SKIPGRAM_VOCAB)
    x = b.layer("log_softmax", "log_softmax", x, dim=-1)
    b.output(x, "log_probs")
    return b.finish(
        "word2vec (skip-gram)",
        """Word embeddings the way word2vec learns them (Mikolov et al., 2013): from a center
        word, predict a word that appears near it. The center word's id selects a 16-dim
        vector (its embedding), a Dense layer scores every word in the vocabulary as a
        context word, and LogSoftmax turns the scores into log-probabilities. Words used in
        similar contexts (cat and dog, river and mill) end up with similar vectors: after
        training, the Embedding's table is the prize, not the predictions. Trained on
        center/context pairs from a short built-in text with the negative log-likelihood
        loss (nll), which takes log-probabilities.""",
        _training(
            dataset="skipgram",
            loss="nll",
            dataset_options={"window": 2},
            task="language_model",
            lr=0.01,
            epochs=40,
            batch_size=32,
            val_fraction=0.0,
        ),
        "Text",
    )


# ------------------------------------------------------------- transformers
def _decoder_layer(b: GraphBuilder) -> str:
    """Define ``TransformerDecoderPostLN`` (post-LN, as nn.TransformerDecoderLayer, whose layer
    names it uses): causal self-attention, cross-attention to the memory, feed-forward."""
    params = tuple(p for p in LIBRARY["TransformerEncoderPostLN"].params if p.name != "causal")
    d = b.define(
        "TransformerDecoderPostLN",
        params,
        """A post-LN Transformer decoder block, as nn.TransformerDecoderLayer computes it.
        As in "Attention Is All You Need": causal self-attention over the target, cross-attention
        from the target to the encoder's output (memory), then a feed-forward network; each
        sub-layer in a residual connection followed by LayerNorm.""",
    )
    x = d.input("x", ("T", 512))
    memory = d.input("memory", ("S", 512))

    def residual(x: Tensor, y: Tensor, i: int) -> Tensor:
        y = d.layer("dropout", f"dropout{i}", y, p="=dropout")
        return d.layer("layernorm", f"norm{i}", d.layer("add", f"add{i}", x, y))

    attn = {"num_heads": "=nhead", "dropout": "=dropout"}
    y = d.layer("multihead_attention", "self_attn", ports={"query": x}, causal=True, **attn)
    x = residual(x, y, 1)
    y = d.layer("multihead_attention", "multihead_attn", ports={"query": x, "key": memory}, **attn)
    x = residual(x, y, 2)
    y = d.layer("dense", "linear1", x, units="=dim_feedforward")
    y = d.layer("relu", "activation", y)
    y = d.layer("dropout", "dropout", y, p="=dropout")
    y = d.layer("dense", "linear2", y, units="=d_model")
    d.output(residual(x, y, 3), "out")
    return d.end_block()


def _transformer_blocks(
    b: GraphBuilder,
    src: Tensor,
    tgt: Tensor,
    layers: int,
    **sizes: Any,
) -> Tensor:
    """The encoder and decoder stacks of nn.Transformer, final LayerNorms included: the
    library's post-LN encoder block repeated, then ``layers`` decoder blocks."""
    b.use_library("TransformerEncoderPostLN")
    decoder = _decoder_layer(b)
    memory = b.block("TransformerEncoderPostLN", "encoder", src, repeat=layers, **sizes)
    memory = b.layer("layernorm", "encoder_norm", memory)
    y = tgt
    for i in range(1, layers + 1):
        y = b.block(decoder, f"decoder{i}", y, memory, **sizes)
    return b.layer("layernorm", "decoder_norm", y)


def transformer() -> LayerGraph:
    """The Transformer of the 2017 paper at toy size: d_model 64, 4 heads, 2+2 layers, ff 128."""
    b = GraphBuilder("transformer")
    # S and T: source and target lengths may differ (binary_to_decimal: 12 bits, 4 digits).
    src = b.input("src", ("S",), dtype="int64", seq_len=COPY_LEN, vocab_size=COPY_VOCAB)
    tgt = b.input("tgt_in", ("T",), dtype="int64", seq_len=COPY_LEN, vocab_size=COPY_VOCAB)
    src = b.layer("embedding", "src_embed", src, num_embeddings=COPY_VOCAB, embedding_dim=64)
    src = b.layer("positional_encoding", "src_pos", src, mode="sinusoidal", dropout=0.1)
    tgt = b.layer("embedding", "tgt_embed", tgt, num_embeddings=COPY_VOCAB, embedding_dim=64)
    tgt = b.layer("positional_encoding", "tgt_pos", tgt, mode="sinusoidal", dropout=0.1)
    sizes = {"d_model": 64, "nhead": 4, "dim_feedforward": 128, "dropout": 0.1}
    y = _transformer_blocks(b, src, tgt, layers=2, **sizes)
    y = b.layer("dense", "generator", y, units=COPY_VOCAB)
    b.output(y, "logits")
    return b.finish(
        "Transformer (encoder-decoder)",
        """The architecture of "Attention Is All You Need" (Vaswani et al., 2017) at a size
        that trains on a CPU: d_model 64, 4 attention heads, 2 encoder and 2 decoder layers,
        feed-forward width 128. Source and target tokens are embedded and get sinusoidal
        position codes; the encoder's self-attention relates every source token to every
        other, and each decoder layer attends causally to the answer so far and then, by
        cross-attention, to the encoder's output (the memory). A Dense layer scores the next
        token at every position. The task is to reverse a string of 8 symbols, trained with
        teacher forcing: the decoder reads the true answer shifted right by one (a BOS token
        first). scripts/build_templates.py also builds the full-size model (d_model 512, 8
        heads, 6+6 layers, 44 million parameters in the blocks).""",
        _training(
            dataset="reverse",
            dataset_options={"seq_len": COPY_LEN, "symbols": 10, "teacher_forcing": True},
            task="sequence_classification",
            metric="token_accuracy",
            optimizer="adam",
            lr=0.001,
            warmup_steps=100,
            epochs=6,
            batch_size=64,
            grad_clip=1.0,
        ),
        "Transformers",
    )


def transformer_full_size() -> LayerGraph:
    """The base model's blocks (d_model 512, 8 heads, 6+6 layers, ff 2048) = nn.Transformer().

    No embeddings and no output projection: two float inputs of width 512 go through the
    encoder and decoder stacks and their final LayerNorms, 44,140,544 parameters, the count of
    ``torch.nn.Transformer()`` with its defaults.
    """
    b = GraphBuilder("transformer-base")
    src = b.input("src", ("S", 512), seq_len=32)
    tgt = b.input("tgt", ("T", 512), seq_len=32)
    sizes = {"d_model": 512, "nhead": 8, "dim_feedforward": 2048, "dropout": 0.1}
    y = _transformer_blocks(b, src, tgt, layers=6, **sizes)
    b.output(y, "out")
    return b.finish(
        "Transformer base (blocks only)",
        """The encoder and decoder stacks of the base Transformer of "Attention Is All You
        Need": d_model 512, 8 heads, 6 encoder and 6 decoder layers, feed-forward 2048, final
        LayerNorms; 44,140,544 parameters, the same as torch.nn.Transformer().""",
        _training(dataset=None, task="sequence_classification", metric="token_accuracy"),
        "Transformers",
    )


def transformer_classifier() -> LayerGraph:
    """A BERT-style encoder: token embedding, [CLS], learned positions, 2 layers, CLS pooling."""
    b = GraphBuilder("transformer-classifier")
    x = b.input("tokens", ("T",), dtype="int64", seq_len=SENTIMENT_LEN, vocab_size=SENTIMENT_VOCAB)
    x = b.layer(
        "embedding",
        "token_embed",
        x,
        num_embeddings=SENTIMENT_VOCAB,
        embedding_dim=64,
        padding_idx=0,
    )
    x = b.layer("cls_token", "cls_token", x)
    x = b.layer("positional_encoding", "pos_embed", x, mode="learned", max_len=64, dropout=0.1)
    # BERT's encoder layers are post-LN with GELU: the library's block with GELU.
    encoder = transformer_encoder(b, "TransformerEncoderGELU", norm_first=False, activation="gelu")
    x = b.block(
        encoder, "encoder", x, repeat=2, d_model=64, nhead=4, dim_feedforward=128, dropout=0.1
    )
    x = b.layer("select_step", "cls_out", x, which="first")
    x = b.layer("dense", "classifier", x, units=2)
    b.output(x, "logits")
    return b.finish(
        "Transformer text classifier (BERT-style)",
        """Text classification the BERT way (Devlin et al., 2018) at toy size: word ids become
        64-dim embeddings, a learned [CLS] vector is put in front of every sentence, learned
        position embeddings are added, and two Transformer encoder layers (4 heads, GELU) let
        every word attend to every other. The [CLS] position's output, which is free to
        gather the whole sentence, feeds a Dense layer that says negative or positive.
        Trained from scratch on the built-in sentiment sentences, where word order matters
        ("dull but great" is positive). Sentences up to 63 words fit the position table.""",
        _training(
            dataset="sentiment",
            dataset_options={"seq_len": SENTIMENT_LEN},
            optimizer="adamw",
            lr=0.001,
            weight_decay=0.01,
            epochs=10,
            batch_size=32,
        ),
        "Transformers",
    )


GPT_VOCAB = 43
"""gpt-mini's vocabulary: that of its default data set, next_token (see GPT_TRAINING)."""
# The gallery text of gpt-mini, kept next to its training settings because it explains them.
GPT_DESCRIPTION = """A decoder-only Transformer, the design of GPT (Radford et al., 2018),
    in the spirit of nanoGPT: token embeddings plus learned position embeddings go through two
    pre-norm blocks whose self-attention is causal (position t sees only positions up to t),
    a final LayerNorm, and a Dense "language-model head" that scores the next word at every
    position. Trained so that the output at position t predicts word t + 1, it becomes a
    generator: feed it a prompt, take the most likely next word, append, repeat. About
    106,000 parameters; the model reads up to 64 words. The default data set is generated
    sentences such as "a farmer feeds the small mouse near the mill ." Their structure can be
    learnt (a verb follows its subject, a sentence ends with a full stop) but the nouns and
    verbs are drawn at random, so no model gets every word right: validation is on sentences
    it never saw, and token accuracy rises from about 20% (always guessing "the") towards the
    grammar's limit."""
GPT_TRAINING = _training(
    dataset="next_token",
    dataset_options={"seq_len": 32, "n_sentences": 2000},
    task="language_model",
    metric="token_accuracy",
    optimizer="adamw",
    lr=0.002,
    weight_decay=0.01,
    epochs=8,
    batch_size=32,
    val_fraction=0.2,
    grad_clip=1.0,
)
"""gpt-mini's training settings."""


def gpt_mini() -> LayerGraph:
    """A decoder-only causal language model: embedding, learned positions, causal blocks."""
    b = GraphBuilder("gpt-mini")
    x = b.input("tokens", ("T",), dtype="int64", seq_len=32, vocab_size=GPT_VOCAB)
    x = b.layer("embedding", "token_embed", x, num_embeddings=GPT_VOCAB, embedding_dim=64)
    x = b.layer("positional_encoding", "pos_embed", x, mode="learned", max_len=64, dropout=0.0)
    b.use_library("TransformerEncoderPreLN")
    # GPT's block is a pre-LN encoder block with causal self-attention (no cross-attention).
    x = b.block(
        "TransformerEncoderPreLN",
        "blocks",
        x,
        repeat=2,
        d_model=64,
        nhead=4,
        dim_feedforward=256,
        dropout=0.0,
        causal=True,
    )
    x = b.layer("layernorm", "final_norm", x)
    x = b.layer("dense", "lm_head", x, units=GPT_VOCAB)
    b.output(x, "logits")
    return b.finish(
        "GPT-mini (decoder-only language model)",
        GPT_DESCRIPTION,
        GPT_TRAINING,
        "Transformers",
    )


TEMPLATES: dict[str, Callable[[], LayerGraph]] = {
    "mlp-mnist": mlp_mnist,
    "lenet5": lenet5,
    "resnet18": resnet18,
    "resnet50": resnet50,
    "vgg16": vgg16,
    "resnet-cifar": resnet_small,
    "vit-tiny": vit_tiny,
    "lstm-classifier": lstm_classifier,
    "seq2seq-lstm": seq2seq_lstm,
    "seq2seq-state": seq2seq_state,
    "gru-forecaster": gru_forecaster,
    "word2vec": word2vec,
    "transformer": transformer,
    "transformer-classifier": transformer_classifier,
    "gpt-mini": gpt_mini,
}
"""Every template in the library, by file name (``templates/<name>.json``)."""


def main(argv: list[str] | None = None) -> int:
    """Write every template (or the ones named) to ``templates/``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="templates to build (default: all)")
    parser.add_argument("--out", type=Path, default=TEMPLATES_DIR, help="output folder")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in TEMPLATES]
    if unknown:
        parser.error(f"unknown template(s) {', '.join(unknown)}; known: {', '.join(TEMPLATES)}")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names or TEMPLATES:
        graph = TEMPLATES[name]()
        total = analyze(graph).total_params
        save_project(graph, args.out / f"{name}.json")
        print(f"{name}: {len(graph)} nodes, {total:,} parameters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
