"""Block instances in the analysis: each instance is its definition analysed with the instance's
parameters and input specs, cached so a model costs its distinct stages, not every copy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dlstudio.analysis.diagnostics import ERROR, Diagnostic
from dlstudio.analysis.result import AnalysisResult, NodeInfo
from dlstudio.core.blocks import (
    BLOCK_TYPE,
    MAX_NESTING,
    RESERVED_KEYS,
    BlockDefinition,
    instance_settings,
    resolve_inner_params,
)
from dlstudio.core.errors import GraphEditError
from dlstudio.core.expressions import ExpressionError
from dlstudio.core.graph import LayerGraph, LayerNode
from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.layers.spec import LayerType, ParamSpec, PortSpec, ShapeContext, ShapeResult

MAX_DEPTH = MAX_NESTING
MAX_EXPANDED_LAYERS = 100_000
"""A model may expand to this many layers (every block instance replaced by its copies' layers).
Nested repeats multiply (1000 copies of a block of 1000 copies ...): a bigger model could not
be summarised, compiled or drawn in reasonable time and memory, so validation refuses it."""

Analyzer = Callable[..., AnalysisResult]


@dataclass
class BlockContext:
    """What analysing one graph of the tree needs from above it."""

    root: LayerGraph
    """The document: it holds the block definitions."""
    batch_size: int = 1
    env: Mapping[str, Any] | None = None
    """Block parameter values, inside a definition (None in the top graph)."""
    input_specs: Mapping[str, TensorSpec] = field(default_factory=dict)
    """Inner Input node id -> the spec the instance receives there."""
    bindings: Mapping[str, int] = field(default_factory=dict)
    """Example sizes of symbols, inherited from the top graph."""
    cache: dict[tuple, AnalysisResult] = field(default_factory=dict)
    depth: int = 0
    shared: dict[Any, Any] = field(default_factory=dict)
    """Per-analysis memo shared down the tree: layer types and totals by definition/result."""
    owner: str | None = None
    """The name of the definition being analysed (None in the top graph)."""


def block_layer_type(definition: BlockDefinition) -> LayerType:
    """A catalogue-style description of instances of ``definition`` (ports, parameters)."""
    params = [
        ParamSpec("block", "str", definition.name, "The block definition this node instantiates."),
        ParamSpec(
            "repeat",
            "int",
            1,
            "Chain this many copies (like nn.Sequential).",
            minimum=1,
            maximum=1000,
        ),
        ParamSpec("weights", "str", None, "Weights file loaded into this instance.", optional=True),
    ]
    for p in definition.params:
        params.append(
            ParamSpec(
                p.name,
                p.kind,
                p.default,
                p.help or f"Block parameter {p.name}.",
                minimum=p.minimum,
                maximum=p.maximum,
                choices=p.choices,
            )
        )
    return LayerType(
        id=BLOCK_TYPE,
        label=definition.name,
        category="Blocks",
        summary=definition.description or f"An instance of block {definition.name}.",
        explanation=definition.description,
        formula="",
        infer=_not_called,
        inputs=tuple(PortSpec(name) for name in definition.input_ports()),
        outputs=tuple(PortSpec(name) for name in definition.output_ports()),
        params=tuple(params),
        name_prefix="block",
        key_params=tuple(p.name for p in definition.params[:3]),
    )


def _not_called(ctx: ShapeContext) -> ShapeResult:
    raise AssertionError("block instances are analysed by analyze_instance")


def instance_type(
    node: LayerNode, context: BlockContext, out: list[Diagnostic]
) -> LayerType | None:
    """The layer type of an instance node, or None with an error when its definition is
    missing."""
    root = context.root
    name = node.params.get("block")
    definition = root.blocks.get(name) if isinstance(name, str) else None
    if definition is None:
        known = ", ".join(sorted(root.blocks)) or "none"
        out.append(
            Diagnostic(
                ERROR,
                node.id,
                f"{node.name}: there is no block definition {name!r} (definitions: {known}); "
                "delete the node or insert the block again",
            )
        )
        return None
    key = ("type", name)
    if key not in context.shared:
        context.shared[key] = block_layer_type(definition)
    return context.shared[key]


def resolve_instance(
    node: LayerNode, root: LayerGraph, env: Mapping[str, Any] | None
) -> tuple[dict | None, str | None]:
    """An instance's resolved parameters (expressions evaluated when it sits inside another
    block), or a problem."""
    try:
        if env is not None:
            node = LayerNode(node.id, node.type_id, node.name, resolve_inner_params(node, env))
        settings = instance_settings(node, root.blocks)
    except (GraphEditError, ExpressionError) as exc:
        return None, str(exc)
    return {
        "block": settings.definition.name,
        "repeat": settings.repeat,
        "weights": settings.weights,
        **settings.values,
    }, None


def analyze_instance(
    node: LayerNode,
    info: NodeInfo,
    context: BlockContext,
    analyzer: Analyzer,
    out: list[Diagnostic],
) -> None:
    """Analyse an instance whose inputs are gathered in ``info``: outputs, counts, children and
    the diagnostics of its insides (lifted, with their path)."""
    definition = context.root.blocks[info.params["block"]]
    info.definition = definition.name
    if context.depth >= MAX_DEPTH:
        out.append(Diagnostic(ERROR, node.id, f"{node.name}: blocks nest too deeply"))
        return
    values = {k: v for k, v in info.params.items() if k not in RESERVED_KEYS}
    repeat = info.params["repeat"]
    in_ports = definition.input_ports()
    out_ports = definition.output_ports()
    specs = dict(info.inputs)
    lifted: set[int] = set()
    for copy in range(repeat):
        inner_specs = {in_ports[port]: spec for port, spec in specs.items() if port in in_ports}
        sub = _analyse_definition(definition, values, inner_specs, context, analyzer)
        if copy == 0 and _too_large(node, repeat, _layers(sub, context), out):
            return
        info.children.append(sub)
        prefix = node.name if repeat == 1 else f"{node.name}.{copy}"
        if id(sub) not in lifted:
            lifted.add(id(sub))
            out.extend(_lift(d, node.id, prefix, definition.graph) for d in sub.diagnostics)
        if sub.has_errors:
            return
        outputs = {}
        for port, output_id in out_ports.items():
            spec = sub.nodes[output_id].inputs.get("in") if output_id in sub.nodes else None
            if spec is None:
                return
            outputs[port] = spec
        specs = {"in": outputs.get("out")} if repeat > 1 else {}
    info.outputs = outputs
    info.ok = True
    info.layers = sum(_layers(sub, context) for sub in info.children)
    totals = [_totals(sub, context) for sub in info.children]
    info.param_count = sum(t[0] for t in totals)
    info.trainable_params = sum(t[1] for t in totals) if node.trainable else 0
    info.macs = sum(t[2] for t in totals)
    info.activation_bytes = sum(t[3] for t in totals)


def _layers(sub: AnalysisResult, context: BlockContext) -> int:
    key = ("layers", id(sub))
    if key not in context.shared:
        context.shared[key] = sub.expanded_layers
    return context.shared[key]


def _too_large(node: LayerNode, repeat: int, per_copy: int, out: list[Diagnostic]) -> bool:
    """True (with an error) when ``repeat`` copies of ``per_copy`` layers pass the limit."""
    if repeat * per_copy <= MAX_EXPANDED_LAYERS:
        return False
    out.append(
        Diagnostic(
            ERROR,
            node.id,
            f"{node.name}: {repeat:,} copies of a block of {per_copy:,} layers expand to "
            f"{repeat * per_copy:,} layers; a model may have at most {MAX_EXPANDED_LAYERS:,}: "
            "lower repeat here or in the blocks inside",
        )
    )
    return True


def check_expanded_size(
    graph: LayerGraph, infos: Mapping[str, NodeInfo], out: list[Diagnostic]
) -> None:
    """An error when the whole model expands past :data:`MAX_EXPANDED_LAYERS` layers (each
    instance may be within the limit and their sum not)."""
    total = sum(i.layers for i in infos.values())
    if total > MAX_EXPANDED_LAYERS:
        biggest = max(infos.values(), key=lambda i: i.layers)
        name = graph.node(biggest.node_id).name
        out.append(
            Diagnostic(
                ERROR,
                biggest.node_id,
                f"the model expands to {total:,} layers (blocks replaced by their copies; "
                f"{name} alone {biggest.layers:,}); at most {MAX_EXPANDED_LAYERS:,} are "
                "allowed: lower the repeat counts",
            )
        )


def _totals(sub: AnalysisResult, context: BlockContext) -> tuple[int, int, int, int]:
    key = ("totals", id(sub))
    if key not in context.shared:
        context.shared[key] = (
            sub.total_params,
            sub.trainable_params,
            sub.total_macs,
            sub.activation_bytes,
        )
    return context.shared[key]


def _analyse_definition(
    definition: BlockDefinition,
    values: dict[str, Any],
    inner_specs: dict[str, TensorSpec],
    context: BlockContext,
    analyzer: Analyzer,
) -> AnalysisResult:
    key = (
        definition.name,
        tuple(sorted(values.items())),
        tuple(sorted(inner_specs.items())),
    )
    cached = context.cache.get(key)
    if cached is not None:
        return cached
    child = BlockContext(
        context.root,
        context.batch_size,
        values,
        inner_specs,
        context.bindings,
        context.cache,
        context.depth + 1,
        context.shared,
        definition.name,
    )
    result = analyzer(definition.graph, context.batch_size, context=child)
    context.cache[key] = result
    return result


def _lift(d: Diagnostic, instance_id: str, prefix: str, inner: LayerGraph) -> Diagnostic:
    """An inner diagnostic as seen from the graph holding the instance: the message starts
    with the inner node's path (``layer2.0.conv1 (Conv2d) ...``)."""
    if d.node_id is None:
        return Diagnostic(
            d.severity,
            instance_id,
            f"{prefix}: {d.message}",
            d.fixes,
            None,
            prefix,
            (instance_id,),
        )
    inner_path = d.path or (inner.nodes[d.node_id].name if d.node_id in inner.nodes else "")
    location = (instance_id, *(d.location or (d.node_id,)))
    return Diagnostic(
        d.severity,
        instance_id,
        f"{prefix}.{d.message}",
        d.fixes,
        None,
        f"{prefix}.{inner_path}",
        location,
    )


def is_instance(node: LayerNode) -> bool:
    """True for block instance nodes."""
    return node.type_id == BLOCK_TYPE
