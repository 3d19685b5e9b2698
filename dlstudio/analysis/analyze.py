"""The one walker: resolve parameters, check structure, infer shapes and count, in one pass.

Shape inference, statistics, code generation and export all follow the order computed here.
"""

from __future__ import annotations

from math import prod
from typing import cast

from dlstudio.analysis.blocks import (
    BlockContext,
    analyze_instance,
    check_expanded_size,
    instance_type,
    is_instance,
    resolve_instance,
)
from dlstudio.analysis.diagnostics import ERROR, Diagnostic
from dlstudio.analysis.masks import carry_masks, input_mask, strip_block_masks
from dlstudio.analysis.result import AnalysisResult, NodeInfo
from dlstudio.analysis.structure import check_structure, known_types
from dlstudio.analysis.teaching import teaching_diagnostics
from dlstudio.analysis.tying import check_tied_weights
from dlstudio.core.blocks import condition_holds, condition_problem, resolve_inner_params
from dlstudio.core.collector import collector_paused
from dlstudio.core.expressions import ExpressionError
from dlstudio.core.graph import Edge, LayerGraph, LayerNode
from dlstudio.core.tensor_spec import DTYPE_SIZES, TensorSpec, bind_dim
from dlstudio.layers.spec import LayerType, ShapeContext, ShapeError, StatContext

_SAMPLE_BINDINGS_DEFAULT = 32


def analyze(
    graph: LayerGraph, batch_size: int = 1, *, context: BlockContext | None = None
) -> AnalysisResult:
    """Analyse ``graph``: diagnostics, per-node shapes, parameters, MACs and memory.

    Block instances are analysed through their definitions (``graph.blocks``); ``context`` is
    set when the graph is itself a block definition analysed for one instance."""
    with collector_paused():  # see dlstudio.core.collector: the walk makes no cyclic garbage
        return _analyze(graph, batch_size, context)


def _analyze(graph: LayerGraph, batch_size: int, context: BlockContext | None) -> AnalysisResult:
    if context is None:
        context = BlockContext(graph, batch_size)
    diagnostics: list[Diagnostic] = []
    types = known_types(graph, diagnostics, lambda n: instance_type(n, context, diagnostics))
    params = _resolve_params(graph, types, context, diagnostics)
    ports = {nid: layer.input_ports(params.get(nid, {})) for nid, layer in types.items()}
    order = check_structure(graph, types, ports, diagnostics, inside_block=context.depth > 0)
    # The caller's sizes win: a block's own Input examples only bind symbols it introduces.
    bindings = {**_example_bindings(graph, params), **context.bindings}
    if context.depth == 0:
        context.bindings = bindings
    sample = {"N": 1, **bindings}
    shapes: dict[int, tuple[TensorSpec, tuple[int, ...] | None]] = {}
    infos: dict[str, NodeInfo] = {}
    edge_specs: dict[Edge, TensorSpec] = {}
    for node_id in order:
        node = graph.node(node_id)
        info = NodeInfo(node_id, params.get(node_id, {}))
        info.layers = 0 if node.type_id in ("input", "output") else 1
        infos[node_id] = info
        layer = types.get(node_id)
        if layer is None or node_id not in params:
            continue
        if not _gather_inputs(graph, node, ports[node_id], info, infos, edge_specs):
            continue
        if node.when is not None and not _condition_ok(node, layer, info, context, diagnostics):
            continue
        if not info.enabled:
            continue
        if is_instance(node):
            strip_block_masks(node, info, context.root, diagnostics)
            analyze_instance(node, info, context, analyze, diagnostics)
        elif node_id in context.input_specs:
            info.outputs = {"out": context.input_specs[node_id]}
            info.ok = True
            info.param_count = info.trainable_params = info.macs = info.activation_bytes = 0
        elif _infer(node, layer, info, diagnostics, bindings):
            if node.type_id == "input":
                input_mask(node, info)
            else:
                carry_masks(node, info)
            _count(node, layer, info, sample, batch_size, diagnostics, shapes)
    if context.depth == 0:
        check_expanded_size(graph, infos, diagnostics)
    check_tied_weights(graph, infos, diagnostics)
    diagnostics += teaching_diagnostics(graph, infos, top_level=context.depth == 0)
    return AnalysisResult(order, infos, edge_specs, diagnostics, batch_size, bindings)


def _condition_ok(
    node: LayerNode,
    layer: LayerType,
    info: NodeInfo,
    context: BlockContext,
    out: list[Diagnostic],
) -> bool:
    """Check a conditional layer; where its condition is false, pass its input through (the
    layer is left out of this use of the block). False (with an error) when it cannot be."""
    owner = context.root.blocks.get(context.owner) if context.owner else None
    problem = condition_problem(node.when, owner)
    if problem is None and (len(info.inputs) != 1 or not layer.outputs):
        problem = (
            f"a layer with a 'when' condition needs exactly one input (it has "
            f"{len(info.inputs)}), which passes through when the condition is false"
        )
    if problem:
        out.append(Diagnostic(ERROR, node.id, f"{node.name} ({layer.label}): {problem}"))
        return False
    if not condition_holds(node, context.env):
        info.enabled = False
        info.outputs = {layer.outputs[0].name: next(iter(info.inputs.values()))}
        info.ok = True
        info.param_count = info.trainable_params = info.macs = info.activation_bytes = 0
    return True


def _resolve_params(
    graph: LayerGraph, types: dict[str, LayerType], context: BlockContext, out: list[Diagnostic]
) -> dict[str, dict]:
    resolved = {}
    for node in graph:
        layer = types.get(node.id)
        if layer is None:
            continue
        if is_instance(node):
            values, problem = resolve_instance(node, context.root, context.env)
            if problem or values is None:
                out.append(Diagnostic(ERROR, node.id, problem or f"{node.name}: unresolved"))
            else:
                resolved[node.id] = values
            continue
        given = node.params
        try:
            given = resolve_inner_params(node, context.env or {})
        except ExpressionError as exc:
            where = "" if context.env is not None else " (expressions work only inside blocks)"
            out.append(Diagnostic(ERROR, node.id, f"{node.name} ({layer.label}): {exc}{where}"))
            continue
        values, problems = layer.resolve_params(given)
        for problem in problems:
            out.append(Diagnostic(ERROR, node.id, f"{node.name} ({layer.label}): {problem}"))
        if not problems:
            resolved[node.id] = values
    return resolved


def _example_bindings(graph: LayerGraph, params: dict[str, dict]) -> dict[str, int]:
    """Each Input's example length binds the symbols in its shape (``T`` -> 32)."""
    bindings: dict[str, int] = {}
    for node in graph:
        if node.type_id == "input" and node.id in params:
            p = params[node.id]
            for dim in p["shape"]:
                if isinstance(dim, str):
                    bindings.setdefault(dim, p.get("seq_len", _SAMPLE_BINDINGS_DEFAULT))
    return bindings


def _gather_inputs(graph, node, ports, info, infos, edge_specs) -> bool:
    """Fill ``info.inputs`` from upstream outputs; False when an upstream node failed."""
    wires = {edge.dst.port: edge for edge in graph.edges_into(node.id)}  # one wire per port
    complete = True
    for port in ports:
        edge = wires.get(port.name)
        if edge is None:
            complete = complete and port.optional
            continue
        upstream = infos.get(edge.src.node)
        spec = upstream.outputs.get(edge.src.port) if upstream else None
        if spec is None:
            complete = False
            continue
        info.inputs[port.name] = spec
        edge_specs[edge] = spec
    return complete


def _infer(
    node: LayerNode,
    layer: LayerType,
    info: NodeInfo,
    out: list[Diagnostic],
    bindings: dict[str, int],
) -> bool:
    ctx = ShapeContext(node.name, layer.label, info.params, info.inputs, bindings)
    try:
        result = layer.infer(ctx)
    except ShapeError as exc:
        edge = None
        out.append(
            Diagnostic(
                ERROR, node.id, f"{node.name} ({layer.label}) {exc.message}", exc.fixes, edge
            )
        )
        return False
    except Exception as exc:  # a bug in a rule must not take the editor down
        out.append(
            Diagnostic(
                ERROR,
                node.id,
                f"{node.name} ({layer.label}): internal error "
                f"while inferring shapes ({type(exc).__name__}: {exc}); please "
                "report it",
            )
        )
        return False
    info.outputs = dict(result.outputs)
    info.inferred = dict(result.inferred)
    info.ok = True
    return True


def _concrete(spec: TensorSpec, bindings: dict[str, int]) -> tuple[int, ...] | None:
    """The per-example shape with symbols bound, or None when a symbol is unbound."""
    shape = spec.shape
    if shape and shape[0] == "N":  # the common case: only the batch is symbolic
        rest = shape[1:]
        if all(type(d) is int for d in rest):
            return (1, *cast(tuple[int, ...], rest))
    elif all(type(d) is int for d in shape):
        return tuple(cast(tuple[int, ...], shape))
    # Symbols anywhere, the batch folded into another dimension (Flatten from dim 0) ...
    dims = [bind_dim(d, bindings) for d in shape]
    return tuple(d for d in dims if d is not None) if None not in dims else None


def _count(node, layer, info, sample, batch_size, out: list[Diagnostic], shapes) -> None:
    """Parameters, MACs (one example) and output memory (whole batch) of one node.

    ``sample`` binds N to 1 and each symbol to its Input's example length; ``shapes`` keeps
    each spec's concrete shape by identity (a node's output spec is its successor's input;
    the spec is kept with its shape, so its id is never reused)."""
    sides: list[dict[str, tuple[int, ...]]] = [{}, {}]
    for side, specs in zip(sides, (info.inputs, info.outputs), strict=True):
        for port, spec in specs.items():
            known = shapes.get(id(spec))
            if known is None:
                known = shapes[id(spec)] = (spec, _concrete(spec, sample))
            if known[1] is None:
                return  # an unbound symbol: counts stay unknown, shapes are still fine
            side[port] = known[1]
    ins, outs = sides
    ctx = StatContext(info.params, ins, outs, info.inferred)
    try:
        info.param_count = int(layer.count_params(ctx))
        info.macs = int(layer.count_macs(ctx))
    except Exception as exc:
        out.append(
            Diagnostic(
                ERROR,
                node.id,
                f"{node.name} ({layer.label}): internal error "
                f"while counting parameters ({type(exc).__name__}: {exc})",
            )
        )
        return
    info.trainable_params = info.param_count if node.trainable else 0
    activation = 0
    for port, shape in outs.items():
        activation += prod(shape) * batch_size * DTYPE_SIZES.get(info.outputs[port].dtype, 4)
    info.activation_bytes = activation
