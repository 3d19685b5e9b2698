"""The forward pass as a list of lines: which node writes which variable.

Variables follow the rule a person uses: a tensor that goes straight into the next line lives
in ``x``; one needed more than once or later (a skip connection, a second output) gets the
node's own name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dlstudio.analysis import AnalysisResult
from dlstudio.compile.codegen.masks import mask_comment, mask_emission, padding_masks
from dlstudio.compile.codegen.names import NameAllocator, module_ref, variable_for
from dlstudio.compile.emitters import EMITTERS, Emission, EmitContext, EmitError
from dlstudio.compile.errors import CompileError
from dlstudio.core.blocks import BLOCK_TYPE
from dlstudio.core.graph import LayerGraph, LayerNode, PortRef
from dlstudio.layers import get_layer_type

STRUCTURAL = ("input", "output")
"""Layer ids the generator handles itself: forward() arguments and return values."""


@dataclass(frozen=True)
class Step:
    """One line of forward(): the node, its emission and the variables it assigns."""

    node_id: str
    attr: str
    emission: Emission
    targets: tuple[str, ...]
    comment: str
    when: str | None = None
    """The node's ``when`` condition, if it has one."""
    enabled: bool = True
    """False where the condition is false for this use: ``emission`` is then only a
    pass-through placeholder, and the class takes the line from a use where it holds."""


@dataclass
class ForwardPlan:
    """Arguments, lines and returned variables of forward()."""

    args: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    returns: list[str] = field(default_factory=list)


BlockEmitter = Callable[[LayerNode, Any, dict[str, str], str], Emission]
"""(instance node, its NodeInfo, input port -> variable, attr) -> the instance's emission."""
ParamWrapper = Callable[[LayerNode, Any], tuple[dict, dict]]
"""(node, NodeInfo) -> (params, inferred) as the emitter should see them (inside a block class,
values that come from block parameters are written as those parameters)."""


def plan_forward(
    graph: LayerGraph,
    analysis: AnalysisResult,
    attrs: dict[str, str],
    allocator: NameAllocator,
    emit_block: BlockEmitter | None = None,
    wrap: ParamWrapper | None = None,
) -> ForwardPlan:
    """Walk the analysis order once, asking each node's emitter for its line."""
    kinds = {node.id: node.type_id for node in graph}
    lines = [n for n in analysis.order if kinds[n] not in STRUCTURAL]
    # Ports as (node id, port) tuples: hashed in C, where a PortRef's hash is a Python call
    # (this walk looks ports up several times per node).
    consumers: dict[tuple[str, str], list[PortRef]] = defaultdict(list)
    for edge in graph.edges:
        consumers[edge.src.node, edge.src.port].append(edge.dst)

    def chains(src: tuple[str, str], position: int) -> bool:
        """True when the tensor's only reader is the very next line (or the return)."""
        users = consumers.get(src, [])
        if len(users) != 1:
            return False
        if position + 1 < len(lines):
            return users[0].node == lines[position + 1]
        return kinds[users[0].node] == "output"

    plan = ForwardPlan()
    variables: dict[tuple[str, str], str] = {}
    inputs = [node.id for node in graph if node.type_id == "input"]
    for node_id in inputs:
        ref = (node_id, "out")
        name = "x" if len(inputs) == 1 and chains(ref, -1) else attrs[node_id]
        variables[ref] = name
        plan.args.append(name)

    masks = padding_masks(graph, analysis, lines, attrs, allocator)
    for input_id, name in masks.items():
        ref = (input_id, "out")
        if variables[ref] == "x":  # read twice now (the mask, the next line): use its name
            variables[ref] = plan.args[inputs.index(input_id)] = attrs[input_id]
        emission = mask_emission(analysis, input_id, variables[ref])
        comment = mask_comment(analysis, input_id)
        plan.steps.append(Step(input_id, attrs[input_id], emission, (name,), comment))

    for position, node_id in enumerate(lines):
        node = graph.node(node_id)
        info = analysis.nodes[node_id]
        args = {}
        for edge in graph.edges_into(node_id):
            args[edge.dst.port] = variables[edge.src.node, edge.src.port]
        attr = attrs[node_id]
        if not info.enabled:
            outputs = tuple(info.outputs)
            emission = Emission(next(iter(args.values())), None, outputs)
        elif node.type_id == BLOCK_TYPE:
            assert emit_block is not None, "block instances need a block emitter"
            emission = emit_block(node, info, args, attrs[node_id])
        else:
            layer = get_layer_type(node.type_id)
            ports = [p.name for p in layer.input_ports(info.params)]
            args = {p: args[p] for p in ports if p in args}
            params, inferred = wrap(node, info) if wrap else (info.params, info.inferred)
            ctx = EmitContext(
                attrs[node_id], params, inferred, info.inputs, info.outputs, args, masks
            )
            try:
                emission = EMITTERS[node.type_id](ctx)
            except EmitError as exc:  # a value that cannot be written as a literal
                message = f"{node.name} ({layer.label}): {exc}; change the parameter's value"
                raise CompileError(graph.name, [(node.name, message)]) from exc
        if node.when is not None and info.enabled:
            emission, attr = _conditional(emission, node.when, attr, args, allocator)
        targets = []
        for port in emission.outputs:
            ref = (node_id, port)
            if not consumers.get(ref):
                targets.append("_")
                continue
            if "x" not in targets and chains(ref, position):
                name = "x"
            elif port == emission.outputs[0]:
                name = variable_for(attrs[node_id], allocator)
            else:
                name = allocator.allocate(f"{attrs[node_id]}_{port}", attrs[node_id])
            variables[ref] = name
            targets.append(name)
        if "_" in targets and all(t == "_" for t in targets):
            targets = ["_"]
        if len(emission.outputs) == 1:
            comment = str(info.outputs[emission.outputs[0]])
        else:
            comment = ", ".join(str(info.outputs[p]) for p in emission.outputs)
        step = Step(node_id, attr, emission, tuple(targets), comment, node.when, info.enabled)
        plan.steps.append(step)

    for node in graph:
        if node.type_id == "output":
            returned = graph.incoming_edge(PortRef(node.id, "in"))
            if returned is not None:
                plan.returns.append(variables[returned.src.node, returned.src.port])
    return plan


def _conditional(
    emission: Emission, when: str, attr: str, args: dict[str, str], allocator: NameAllocator
) -> tuple[Emission, str]:
    """A layer that exists only where ``when`` holds, as torchvision writes its optional
    ``downsample``: the submodule is None where it is left out and forward() passes the input
    through. A layer without a submodule keeps the flag instead (``self.relu_on = flag``)."""
    source = next(iter(args.values()))
    if emission.module is not None:
        module = f"{emission.module} if {when} else None"
        forward = f"{emission.forward} if {module_ref(attr)} is not None else {source}"
        return Emission(forward, module, emission.outputs, emission.helpers), attr
    flag = allocator.allocate(f"{attr}_on", attr)
    forward = f"{emission.forward} if self.{flag} else {source}"
    return Emission(forward, when, emission.outputs, emission.helpers), flag
