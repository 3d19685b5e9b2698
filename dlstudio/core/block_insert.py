"""Insert a saved project as one block ("a whole model as a layer"), with its definitions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dlstudio.core.block_commands import AddDefinition, fresh_name, graph_at, in_graph
from dlstudio.core.blocks import BLOCK_TYPE, BlockDefinition
from dlstudio.core.commands import AddNode, Command, MacroCommand
from dlstudio.core.errors import GraphEditError
from dlstudio.core.graph import LayerGraph, LayerNode
from dlstudio.core.serialization import nodes_and_edges_to_json


def insert_project_as_block(
    root: LayerGraph,
    project: LayerGraph,
    name: str,
    position: tuple[float, float] = (0.0, 0.0),
    weights: str | None = None,
    trainable: bool = True,
    where: str | None = None,
) -> MacroCommand:
    """The command that inserts a saved project as one block ("a whole model as a layer"):
    its definitions come along (renamed where a different one has the same name), its graph
    becomes definition ``name``, and one instance is placed; ``weights`` (a file of the
    project's trained weights) load into that instance when it is compiled."""
    steps: list[Command] = []
    renames: dict[str, str] = {}
    taken = set(root.blocks)
    reused: set[str] = set()
    for def_name, definition in project.blocks.items():
        new = def_name
        if new in root.blocks and _same(root.blocks[new], definition):
            reused.add(def_name)
        elif new in taken:
            new = fresh_name(def_name, taken | set(project.blocks))
        renames[def_name] = new
        taken.add(new)
    for def_name, definition in project.blocks.items():
        if def_name in reused:
            continue
        copy = definition.copy()
        copy.name = copy.graph.name = renames[def_name]
        _rename_uses(copy.graph, renames)
        steps.append(AddDefinition(copy))
    if name in taken:
        raise GraphEditError(f"a block called {name!r} already exists; choose another name")
    body = project.copy()
    body.blocks = {}
    body.metadata = {}
    body.name = name
    _rename_uses(body, renames)
    steps.append(AddDefinition(BlockDefinition(name, body, (), f"The model {project.name}.")))
    target = graph_at(root, where)
    params: dict[str, Any] = {"block": name}
    if weights:
        params["weights"] = weights
    instance_name = name.lower()
    if target.node_by_name(instance_name) is not None:
        instance_name = target.unique_name(instance_name)
    node = LayerNode(target.new_node_id("b"), BLOCK_TYPE, instance_name, params, position)
    node.trainable = trainable
    steps += in_graph(where, [AddNode(node)])
    return MacroCommand(f"insert {project.name} as block {name}", steps)


def _same(a: BlockDefinition, b: BlockDefinition) -> bool:
    """True when two definitions have the same parameters, layers and wires."""
    return a.params == b.params and nodes_and_edges_to_json(a.graph) == nodes_and_edges_to_json(
        b.graph
    )


def _rename_uses(graph: LayerGraph, renames: Mapping[str, str]) -> None:
    for node in graph:
        if node.type_id == BLOCK_TYPE and node.params.get("block") in renames:
            node.params = {**node.params, "block": renames[node.params["block"]]}
