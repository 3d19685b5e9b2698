"""Placeholder: where an imported model used an operation the catalogue has no layer for.

The importer never drops what it cannot translate. It puts one of these in its place, naming the
operation and where it occurred, with the output shape the original produced, so the user can
see the gap and replace it. A placeholder is always an error: the model does not compile until
it is replaced.
"""

from __future__ import annotations

from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.layers.registry import register
from dlstudio.layers.spec import MAX_PORTS, LayerType, ParamSpec, ShapeContext, ShapeResult


def _placeholder_shape(ctx: ShapeContext) -> ShapeResult:
    # The error itself comes from the structure check (every placeholder is one); passing the
    # recorded shape on lets the analysis check everything after it meanwhile.
    shape = ctx["output_shape"]
    if not shape:
        raise ctx.fail(f"stands in for {ctx['op']} and its output shape is unknown")
    return ShapeResult({"out": TensorSpec(("N", *shape), "float32")})


PLACEHOLDER = register(
    LayerType(
        id="placeholder",
        label="Placeholder",
        category="Imported",
        summary="Marks an imported operation that has no layer yet; replace it.",
        explanation=(
            "Model import puts a placeholder where the original model used an operation or "
            "module that DL Studio has no layer for. It records what the operation was, where it "
            "occurred (module path or ONNX node) and the shape it produced. The model does not "
            "compile until every placeholder is replaced by layers that compute the same."
        ),
        formula="(none: stands in for the operation named in op)",
        infer=_placeholder_shape,
        params=(
            ParamSpec("op", "str", "unknown", "The operation this stands in for."),
            ParamSpec("source", "str", "", "Where it occurred: a module path or an ONNX node."),
            ParamSpec(
                "output_shape",
                "dims",
                (1,),
                "Shape the original operation produced, without the batch.",
                optional=True,
            ),
            ParamSpec("inputs", "int", 1, "Number of tensor inputs.", minimum=1, maximum=MAX_PORTS),
        ),
        name_prefix="placeholder",
        key_params=("op",),
        variadic_inputs="inputs",
    )
)
