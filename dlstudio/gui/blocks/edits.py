"""The block edits the canvas offers, as commands on the document: group the selection into a new
block, ungroup instances, add an instance of a definition (adding the definition when it is
missing), rename a definition."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from dlstudio.analysis import AnalysisResult
from dlstudio.core import AddNode, Command, GraphEditError, LayerGraph, LayerNode, MacroCommand
from dlstudio.core.block_commands import (
    AddDefinition,
    GroupIntoBlock,
    InDefinition,
    PortSpecs,
    UngroupBlock,
)
from dlstudio.core.blocks import BLOCK_TYPE, BlockDefinition, check_definition_name
from dlstudio.core.graph import PortRef


def entering_specs(graph: LayerGraph, result: AnalysisResult, node_ids: Iterable[str]) -> PortSpecs:
    """The tensors entering a selection from outside, as GroupIntoBlock needs them: for each
    output port feeding the selection, its shape without the batch and its dtype."""
    ids = set(node_ids)
    specs: dict[PortRef, tuple[tuple, str]] = {}
    for edge in graph.edges:
        if edge.dst.node not in ids or edge.src.node in ids:
            continue
        spec = result.edge_specs.get(edge)
        if spec is None:
            info = result.nodes.get(edge.src.node)
            spec = info.outputs.get(edge.src.port) if info else None
        if spec is not None and spec.shape:
            specs[edge.src] = (tuple(spec.shape[1:]), spec.dtype)
    return specs


def free_definition_name(blocks: Mapping[str, BlockDefinition], base: str = "Block") -> str:
    """``Block``, ``Block2``...: the first name no definition has."""
    base = re.sub(r"[^A-Za-z0-9_]", "", base) or "Block"
    if not base[0].isalpha():
        base = f"Block{base}"
    name, k = base, 2
    while name in blocks:
        name = f"{base}{k}"
        k += 1
    return name


def group_command(
    root: LayerGraph,
    where: str | None,
    result: AnalysisResult,
    node_ids: list[str],
    name: str,
) -> GroupIntoBlock:
    """The command grouping ``node_ids`` of the graph ``where`` (None: the top graph) into a new
    definition ``name`` and one instance of it; :class:`GraphEditError` says why it cannot."""
    problem = check_definition_name(name)
    if problem:
        raise GraphEditError(problem)
    if name in root.blocks:
        raise GraphEditError(f"a block called {name!r} already exists; choose another name")
    graph = root if where is None else root.blocks[where].graph
    specs = entering_specs(graph, result, node_ids)
    return GroupIntoBlock(node_ids, name, specs, where=where)


def ungroup_command(root: LayerGraph, where: str | None, node_ids: list[str]) -> Command:
    """One undo step replacing every selected instance by its layers."""
    graph = root if where is None else root.blocks[where].graph
    instances = [i for i in node_ids if i in graph and graph.node(i).type_id == BLOCK_TYPE]
    if not instances:
        raise GraphEditError("select a block instance to ungroup")
    steps: list[Command] = [UngroupBlock(i, where=where) for i in instances]
    if len(steps) == 1:
        return steps[0]
    return MacroCommand(f"ungroup {len(steps)} blocks", steps)


def add_instance_command(
    root: LayerGraph,
    where: str | None,
    definition: BlockDefinition,
    position: tuple[float, float],
) -> tuple[Command, str]:
    """One undo step placing an instance of ``definition`` in graph ``where``: the definition
    is added first when the project does not have it (a library block); also the new node id.
    A different definition with the same name is refused: rename one of them first."""
    steps: list[Command] = []
    existing = root.blocks.get(definition.name)
    if existing is None:
        steps.append(AddDefinition(definition))
    elif existing is not definition and not _same_definition(existing, definition):
        raise GraphEditError(
            f"the project already has a different block called {definition.name!r}; "
            "rename it first (select an instance, then edit its block name)"
        )
    if where is not None and definition.name == where:
        raise GraphEditError(f"a block cannot contain itself: {where} is open")
    graph = root if where is None else root.blocks[where].graph
    node = LayerNode(
        graph.new_node_id("b"),
        BLOCK_TYPE,
        graph.unique_name(_instance_base(definition.name)),
        {"block": definition.name},
        position,
    )
    add: Command = AddNode(node)
    if where is not None:
        add = InDefinition(where, add)
    steps.append(add)
    return MacroCommand(f"add block {definition.name}", steps), node.id


def _instance_base(name: str) -> str:
    """``BasicBlock`` -> ``basic_block``: the instance's default name."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _same_definition(a: BlockDefinition, b: BlockDefinition) -> bool:
    from dlstudio.core import dumps_project

    def text(d: BlockDefinition) -> str:
        holder = LayerGraph(d.name)
        holder.blocks = {d.name: d}
        return dumps_project(holder)

    return text(a) == text(b)
