"""Input and Output: where tensors enter and leave the model."""

from __future__ import annotations

from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.layers.registry import register
from dlstudio.layers.spec import Fix, LayerType, ParamSpec, PortSpec, ShapeContext, ShapeResult

DTYPES = ("float32", "int64", "float16", "float64", "int32", "int16", "int8", "uint8", "bool")
"""What an Input can hold: float32 features, int64 token ids, and the other dtypes imported
models take (half precision, bytes of an image, masks)."""


def _input_shape(ctx: ShapeContext) -> ShapeResult:
    pad = ctx["padding_id"]
    if pad is not None:
        _check_padding(ctx, pad)
    shape = tuple(ctx["shape"])
    if not ctx["batch"]:
        return ShapeResult({"out": TensorSpec(shape, ctx["dtype"])})
    return ShapeResult({"out": TensorSpec(("N", *shape), ctx["dtype"])})


def _check_padding(ctx: ShapeContext, pad: int) -> None:
    """A padding id marks steps of a sequence of token ids: int64, one id per step."""
    if ctx["dtype"] != "int64":
        raise ctx.fail(
            f"has padding id {pad}, but its dtype is {ctx['dtype']}: a padding id marks token "
            "ids, set dtype to int64 (or clear the padding id)",
            Fix.set_param("set dtype to int64", "dtype", "int64"),
        )
    if len(ctx["shape"]) != 1:
        raise ctx.fail(
            f"has padding id {pad}, but its shape {list(ctx['shape'])} is not a sequence of "
            "token ids: a padding mask needs the shape of one sample to be [T] (one id per "
            "step)",
            Fix.set_param("clear the padding id", "padding_id", None),
        )
    vocab = ctx["vocab_size"]
    if vocab and pad >= vocab:
        raise ctx.fail(
            f"has padding id {pad}, but its vocabulary has only ids 0..{vocab - 1}: use an id "
            "below vocab_size (0 is the usual padding id)",
            Fix.set_param("set the padding id to 0", "padding_id", 0),
        )


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
            "int64. A token input may name its padding id: the steps holding it are padding, and "
            "the padding mask travels with the sequence, so attention, the Transformer layers, "
            "mean over time and the recurrent layers skip those steps, and a loss on one "
            "prediction per step ignores them. Padding goes at the end of each sequence. An "
            "imported model that computes on one tensor of fixed shape has no batch axis: its "
            "Input's shape is the whole tensor (batch axis off)."
        ),
        formula="x : (N, *shape), or x : shape without the batch axis",
        infer=_input_shape,
        inputs=(),
        outputs=(PortSpec("out", "the input tensor"),),
        params=(
            ParamSpec(
                "shape",
                "shape",
                (1, 28, 28),
                "Shape of one sample without the batch, e.g. "
                "[1, 28, 28] for an MNIST image or ['T'] for a sequence of T token ids "
                "([] for one number per sample).",
            ),
            ParamSpec(
                "dtype",
                "choice",
                "float32",
                "float32 for features and images; int64 for token ids fed to an Embedding; the "
                "others for imported models that take them.",
                choices=DTYPES,
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
            ParamSpec(
                "padding_id",
                "int",
                None,
                "For int64 token ids: the id that fills each sequence after its end (usually "
                "0). Empty: no padding. Attention, Transformer layers, mean over time, "
                "recurrent layers and the loss then ignore the padded steps.",
                label="padding id",
                minimum=0,
                maximum=10_000_000,
                optional=True,
            ),
            ParamSpec(
                "batch",
                "bool",
                True,
                "Add the batch dimension N in front. Off: the shape is the whole tensor, for an "
                "imported model that computes on one fixed-shape tensor (no batch axis).",
                label="batch axis",
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
