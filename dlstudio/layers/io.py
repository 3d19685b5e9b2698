"""Input and Output: where tensors enter and leave the model."""

from __future__ import annotations

from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.layers.registry import register
from dlstudio.layers.spec import LayerType, ParamSpec, PortSpec, ShapeContext, ShapeResult


def _input_shape(ctx: ShapeContext) -> ShapeResult:
    return ShapeResult({"out": TensorSpec(("N", *ctx["shape"]), ctx["dtype"])})


def _output_shape(ctx: ShapeContext) -> ShapeResult:
    return ShapeResult({})


INPUT = register(
    LayerType(
        id="input",
        label="Input",
        category="Input / Output",
        summary="Where data enters: the shape of one sample, batch N added in front.",
        explanation=(
            "Declares the shape and type of one example. The batch size is the symbol N and is "
            "added in front. Use a symbol such as T for a length that varies (a sentence, a time "
            "series). Images are float32 (channels, height, width); token ids for an Embedding are "
            "int64."
        ),
        formula="x : (N, *shape)",
        infer=_input_shape,
        inputs=(),
        outputs=(PortSpec("out", "the input tensor"),),
        params=(
            ParamSpec(
                "shape",
                "shape",
                (1, 28, 28),
                "Shape of one sample without the batch, e.g. "
                "[1, 28, 28] for an MNIST image or ['T'] for a sequence of T token ids.",
            ),
            ParamSpec(
                "dtype",
                "choice",
                "float32",
                "float32 for features and images; int64 for token ids fed to an Embedding.",
                choices=("float32", "int64"),
            ),
            ParamSpec(
                "seq_len",
                "int",
                32,
                "Example size used for symbolic sizes such as T when "
                "counting MACs and memory and when exporting.",
                label="example length",
                minimum=1,
                maximum=100_000,
            ),
            ParamSpec(
                "vocab_size",
                "int",
                0,
                "For int64 token ids: how many distinct ids occur "
                "(0 = unknown). Used to make example inputs.",
                minimum=0,
                maximum=10_000_000,
            ),
        ),
        name_prefix="input",
        key_params=("shape", "dtype"),
    )
)

OUTPUT = register(
    LayerType(
        id="output",
        label="Output",
        category="Input / Output",
        summary="Marks a model output. A graph may have several.",
        explanation=(
            "Whatever reaches an Output is returned by the model's forward(). Losses are computed "
            "on it during training. With several outputs, forward() returns them as a tuple in the "
            "order of the Output nodes."
        ),
        formula="return x",
        infer=_output_shape,
        inputs=(PortSpec("in", "the tensor to return"),),
        outputs=(),
        name_prefix="output",
    )
)
