"""The config dataclass: the model's hyper-parameters (nanoGPT's ``GPTConfig``) and example
input sizes.

A hyper-parameter is a setting the model's own blocks share: a block parameter that the blocks
drawn in the model itself (two or more, counting repeats) all give the same value, away from its
default (``d_model``, ``nhead``, ``dropout``), and how many times a repeated block repeats (``blocks_repeat``, nanoGPT's ``n_layer``). The model's
constructor reads them from the config, so ``GptMini(GptMiniConfig(nhead=8))`` builds the
variant. Layers drawn between the blocks keep their sizes in the source: the drawing gives them
as numbers, not as settings shared with the blocks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dlstudio.analysis import AnalysisResult
from dlstudio.compile.codegen.format import INDENT
from dlstudio.compile.codegen.inputs import InputDescription
from dlstudio.compile.codegen.names import NameAllocator, comment_text
from dlstudio.compile.emitters import lit
from dlstudio.core.blocks import BLOCK_TYPE, RESERVED_KEYS
from dlstudio.core.graph import LayerGraph

_PLAIN = (bool, int, float, str)


@dataclass(frozen=True)
class HyperField:
    """One field of the config: its name, value and the instances that read it."""

    name: str
    value: Any
    readers: tuple[str, ...]
    """The identifiers of the block instances whose constructor reads it."""
    repeat_of: str = ""
    """The block class name when the field is a repeat count ("" for a block parameter)."""


@dataclass
class HyperParameters:
    """The config's hyper-parameter fields and where the model's constructor reads them."""

    fields: list[HyperField] = field(default_factory=list)
    params: dict[str, dict[str, str]] = field(default_factory=dict)
    """Top-level instance node id -> {block parameter -> config field}."""
    repeats: dict[str, str] = field(default_factory=dict)
    """Top-level instance node id -> the config field holding its repeat count."""

    def __bool__(self) -> bool:
        return bool(self.fields)


def hyper_parameters(
    graph: LayerGraph,
    analysis: AnalysisResult,
    attrs: dict[str, str],
    taken: set[str],
    reads: Callable[[str, str], bool],
) -> HyperParameters:
    """The hyper-parameters of the blocks drawn in ``graph`` itself (not inside other blocks);
    field names avoid ``taken`` (the config's example-size fields). ``reads(node_id, name)``
    says whether the instance's class builds anything from block parameter ``name``: one that
    only chose between class bodies is no setting the class can take."""
    instances = [
        node_id
        for node_id in analysis.order
        if node_id in graph.nodes
        and graph.node(node_id).type_id == BLOCK_TYPE
        and node_id in analysis.nodes
    ]
    values: dict[str, list[tuple[str, Any]]] = {}  # block parameter -> (node id, value) per use
    chosen: set[str] = set()  # parameters some instance sets away from the default
    for node_id in instances:
        params = analysis.nodes[node_id].params
        definition = graph.blocks[params["block"]]
        for spec in definition.params:
            if spec.name in RESERVED_KEYS or spec.name not in params:
                continue
            if reads(node_id, spec.name):
                values.setdefault(spec.name, []).append((node_id, params[spec.name]))
                if params[spec.name] != spec.default:
                    chosen.add(spec.name)
    allocator = NameAllocator(taken)
    result = HyperParameters()
    for node_id in instances:
        for name, uses in values.items():
            first = uses[0][1]
            if uses[0][0] != node_id or name not in chosen:
                continue  # listed at its first reader; a default everywhere is no choice
            if not _one_value([v for _, v in uses], first):
                continue  # values that differ between instances are not shared
            if sum(analysis.nodes[n].params["repeat"] for n, _ in uses) < 2:
                continue  # one block's own setting (a stride, a head's width) is shared by none
            field_name = allocator.allocate(name, "param")
            readers = tuple(dict.fromkeys(attrs[n] for n, _ in uses))
            result.fields.append(HyperField(field_name, first, readers))
            for reader, _ in uses:
                result.params.setdefault(reader, {})[name] = field_name
        info = analysis.nodes[node_id]
        if info.params["repeat"] > 1 and len({id(sub) for sub in info.children}) == 1:
            # Every copy is the same class with the same arguments: a loop can build them.
            field_name = allocator.allocate(f"{attrs[node_id]}_repeat", "repeat")
            block = str(info.params["block"])
            result.fields.append(
                HyperField(field_name, info.params["repeat"], (attrs[node_id],), block)
            )
            result.repeats[node_id] = field_name
    return result


def _one_value(values: list[Any], first: Any) -> bool:
    return type(first) in _PLAIN and all(type(v) is type(first) and v == first for v in values)


def config_class(
    name: str,
    bindings: dict[str, int],
    symbol_fields: dict[str, str],
    inputs: list[InputDescription],
    vocab_fields: dict[str, str],
    hyper: HyperParameters,
) -> str:
    """The source of the config dataclass: example sizes, then the hyper-parameters."""
    any_length = " and length" if symbol_fields else ""
    if hyper:
        doc = [
            f'{INDENT}"""The model\'s hyper-parameters (settings its blocks share, how often they'
            " repeat) and",
            f'{INDENT}example input sizes; the model itself takes any batch size{any_length}."""',
        ]
    else:
        doc = [
            f'{INDENT}"""Example input sizes; the model itself takes any batch size{any_length}."""'
        ]
    lines = ["@dataclass", f"class {name}:", *doc, "", f"{INDENT}batch_size: int = 2"]
    for symbol, field_name in symbol_fields.items():
        value = lit(int(bindings.get(symbol, 32)))
        lines.append(f"{INDENT}{field_name}: int = {value}  # {comment_text(symbol)}")
    for description in inputs:
        if description.vocab is not None:
            field_name = vocab_fields[description.name]
            lines.append(
                f"{INDENT}{field_name}: int = {lit(description.vocab)}"
                f"  # token ids of {description.name} are 0..{description.vocab - 1}"
            )
    for item in hyper.fields:
        readers = ", ".join(item.readers)
        note = f"{item.repeat_of} blocks in {readers}" if item.repeat_of else readers
        line = f"{INDENT}{item.name}: {type(item.value).__name__} = {lit(item.value)}"
        lines.append(f"{line}  # {comment_text(note)}"[:100] if len(line) < 90 else line)
    return "\n".join(lines)
