"""The versioned JSON project format (documented in ``docs/file-format.md``).

Loading never executes anything and checks every field, so a malformed, truncated, hostile or
wrong-version file raises one :class:`ProjectFileError` naming the file and the place in it.
Saving is atomic: a temporary file in the same folder is renamed over the target.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dlstudio.core import files
from dlstudio.core.blocks_io import blocks_to_json, check_blocks, read_blocks
from dlstudio.core.errors import ProjectFileError
from dlstudio.core.graph import Edge, LayerGraph, LayerNode, PortRef
from dlstudio.core.terminal import one_line_problem

FORMAT_NAME = "dlstudio-project"
FORMAT_VERSION = 2
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_NESTING = 32
MAX_COORD = 1e9
"""Largest canvas coordinate (either sign) a file may hold."""
_SURROGATE = re.compile("[\ud800-\udfff]")

NodeChecker = Callable[[LayerNode], "str | None"]
"""Extra validation of a loaded node (e.g. by the layer catalogue): returns a problem or None."""


# ------------------------------------------------------------------ writing
def graph_to_dict(graph: LayerGraph) -> dict[str, Any]:
    """The JSON-ready document. Tuples become lists; key order is fixed for stable files."""
    data: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "name": graph.name,
        "metadata": _to_json(graph.metadata),
        **nodes_and_edges_to_json(graph),
    }
    if graph.blocks:
        data["blocks"] = blocks_to_json(graph, nodes_and_edges_to_json)
    return data


def nodes_and_edges_to_json(graph: LayerGraph) -> dict[str, Any]:
    """The ``nodes`` and ``edges`` lists of one graph (the document or a block definition)."""
    return {
        "nodes": [
            {
                "id": n.id,
                "type": n.type_id,
                "name": n.name,
                "params": _to_json(n.params),
                "position": [_round(n.position[0]), _round(n.position[1])],
                "trainable": n.trainable,
                **({"when": n.when} if n.when is not None else {}),
            }
            for n in graph.nodes.values()
        ],
        "edges": [
            {
                "from": {"node": e.src.node, "port": e.src.port},
                "to": {"node": e.dst.node, "port": e.dst.port},
            }
            for e in graph.edges
        ],
    }


def dumps_project(graph: LayerGraph) -> str:
    """The file's text: indented JSON ending in a newline."""
    return _format_json(graph_to_dict(graph), 0) + "\n"


def _format_json(value: Any, indent: int) -> str:
    """Indented JSON with short lists of scalars kept on one line (``[1, 28, 28]``)."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [
            f"{inner}{json.dumps(k, ensure_ascii=False)}: {_format_json(v, indent + 1)}"
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            return "[" + ", ".join(_format_json(v, 0) for v in value) + "]"
        items = [inner + _format_json(v, indent + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def save_project(graph: LayerGraph, path: str | os.PathLike[str]) -> None:
    """Write atomically: the old file stays intact until the new one is complete on disk."""
    write_text_atomic(Path(path), dumps_project(graph))


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :mod:`dlstudio.core.files`: mode kept, symlinks
    written through, temp files removed); raises :class:`FileWriteError` or
    :class:`DiskFullError`."""
    files.write_text_atomic(path, text)


def _round(value: float) -> float | int:
    value = round(float(value), 2)
    return int(value) if value.is_integer() else value


def _to_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    return value


# ------------------------------------------------------------------ reading
def load_project(
    path: str | os.PathLike[str], node_checker: NodeChecker | None = None
) -> LayerGraph:
    """Read a project file; any problem is a :class:`ProjectFileError` naming file and place."""
    where = str(path)
    try:
        raw = files.read_regular_file(path, MAX_FILE_BYTES)
    except ValueError as exc:  # a device, a pipe, a folder or too large
        raise ProjectFileError(where, "", str(exc)) from None
    except OSError as exc:
        raise ProjectFileError(where, "", f"cannot read the file ({exc.strerror or exc})") from None
    return loads_project(raw, source=where, node_checker=node_checker)


def loads_project(
    text: str | bytes, source: str = "<text>", node_checker: NodeChecker | None = None
) -> LayerGraph:
    """Parse a project from text or bytes; ``source`` names it in error messages."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ProjectFileError(
                source, f"byte {exc.start}", "the file is not UTF-8 text"
            ) from exc
    if len(text) > MAX_FILE_BYTES:
        raise ProjectFileError(source, "", "the file is too large to be a project")
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ProjectFileError(
            source, f"line {exc.lineno}, column {exc.colno}", f"not valid JSON ({exc.msg})"
        ) from exc
    except RecursionError as exc:
        raise ProjectFileError(source, "", "the JSON is nested too deeply") from exc
    except ValueError as exc:  # NaN / Infinity constants, huge integers
        raise ProjectFileError(source, "", f"not valid JSON ({exc})") from exc
    return graph_from_dict(data, source=source, node_checker=node_checker)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in a project file")


def graph_from_dict(
    data: Any, source: str = "<data>", node_checker: NodeChecker | None = None
) -> LayerGraph:
    """Build a graph from a parsed document, checking every field."""
    r = _Reader(source)
    r.expect(isinstance(data, dict), "", "the file must hold a JSON object")
    if data.get("format") != FORMAT_NAME:
        r.fail("format", f'this is not a DL Studio project (expected "format": "{FORMAT_NAME}")')
    version = data.get("format_version")
    r.expect(type(version) is int, "format_version", "format_version must be a whole number")
    if version > FORMAT_VERSION:
        r.fail(
            "format_version",
            f"the file was written by a newer DL Studio (format "
            f"{version}; this version reads up to {FORMAT_VERSION}); update DL Studio",
        )
    r.expect(version >= 1, "format_version", f"format_version {version} is not a known version")

    graph = LayerGraph(r.string(data.get("name", "untitled"), "name"))
    metadata = data.get("metadata", {})
    r.expect(isinstance(metadata, dict), "metadata", "metadata must be a JSON object")
    r.plain_json(metadata, "metadata", 0)
    graph.metadata = metadata
    read_nodes_and_edges(r, graph, data, "", node_checker)
    if "blocks" in data:
        r.expect(version >= 2, "blocks", "block definitions need format_version 2")
        graph.blocks = read_blocks(r, data["blocks"], node_checker, read_nodes_and_edges)
    check_blocks(r, graph)
    graph.revision = 0
    return graph


def read_nodes_and_edges(
    r: _Reader, graph: LayerGraph, data: dict, prefix: str, node_checker: NodeChecker | None
) -> None:
    """Read ``data["nodes"]`` and ``data["edges"]`` into ``graph``; locations start ``prefix``."""
    nodes = data.get("nodes")
    r.expect(isinstance(nodes, list), f"{prefix}nodes", "nodes must be a list")
    names: set[str] = set()
    for i, item in enumerate(nodes):
        at = f"{prefix}nodes[{i}]"
        r.expect(isinstance(item, dict), at, "each node must be a JSON object")
        node_id = r.string(item.get("id"), f"{at}.id", required=True)
        r.expect(node_id not in graph, f"{at}.id", f"node id {node_id!r} is used twice")
        name = r.string(item.get("name", node_id), f"{at}.name", required=True)
        problem = one_line_problem(name)
        r.expect(problem is None, f"{at}.name", f"the name {name!r} {problem}")
        r.expect(name not in names, f"{at}.name", f"the name {name!r} is used by two nodes")
        names.add(name)
        params = item.get("params", {})
        r.mapping(params, f"{at}.params", "params must be a JSON object")
        node = LayerNode(
            id=node_id,
            type_id=r.string(item.get("type"), f"{at}.type", required=True),
            name=name,
            params={k: r.param_value(v, f"{at}.params.{k}") for k, v in params.items()},
            position=r.position(item.get("position", [0, 0]), f"{at}.position"),
            trainable=r.boolean(item.get("trainable", True), f"{at}.trainable"),
            when=None if item.get("when") is None else r.string(item["when"], f"{at}.when"),
        )
        if node_checker is not None:
            problem = node_checker(node)
            if problem:
                r.fail(at, f"node {name!r}: {problem}")
        graph.insert_node(node)

    edges = data.get("edges", [])
    r.expect(isinstance(edges, list), f"{prefix}edges", "edges must be a list")
    for i, item in enumerate(edges):
        at = f"{prefix}edges[{i}]"
        r.expect(isinstance(item, dict), at, "each edge must be a JSON object")
        src = r.port_ref(item.get("from"), f"{at}.from")
        dst = r.port_ref(item.get("to"), f"{at}.to")
        for ref, key in ((src, "from"), (dst, "to")):
            r.expect(ref.node in graph, f"{at}.{key}.node", f"there is no node {ref.node!r}")
        r.expect(src.node != dst.node, at, "an edge cannot connect a node to itself")
        r.expect(
            graph.incoming_edge(dst) is None,
            f"{at}.to",
            f"input {dst.port!r} of {graph.node(dst.node).name} has two wires",
        )
        graph.insert_edge(Edge(src, dst))


class _Reader:
    """Field checks that raise a located :class:`ProjectFileError`."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, location: str, problem: str) -> None:
        raise ProjectFileError(self.source, location, problem)

    def expect(self, ok: bool, location: str, problem: str) -> None:
        if not ok:
            self.fail(location, problem)

    def string(self, value: Any, location: str, required: bool = False) -> str:
        self.expect(isinstance(value, str), location, "must be a text string")
        self.expect(not required or bool(value.strip()), location, "must not be empty")
        self.expect(len(value) <= 1000, location, "is longer than 1000 characters")
        self.text(value, location)
        return value

    def text(self, value: str, location: str) -> None:
        """Refuse lone surrogates (``\\ud800``): JSON allows them, but no file can store them."""
        bad = _SURROGATE.search(value)
        if bad:
            self.fail(
                location,
                f"holds an invalid character (U+{ord(bad.group()):04X}, a lone surrogate at "
                f"character {bad.start()}); remove it",
            )

    def mapping(self, value: Any, location: str, problem: str) -> None:
        """A JSON object whose keys are storable text."""
        self.expect(isinstance(value, dict), location, problem)
        for key in value:
            self.text(key, f"{location} (a key)")

    def boolean(self, value: Any, location: str) -> bool:
        self.expect(isinstance(value, bool), location, "must be true or false")
        return value

    def number(self, value: Any, location: str) -> float:
        # Integers are compared before any float conversion (10**310 overflows a float), and the
        # bound is inclusive, so every accepted value still loads after saving rounds it.
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        self.expect(
            ok and (isinstance(value, int) or math.isfinite(value)) and abs(value) <= MAX_COORD,
            location,
            f"must be a finite number from -{MAX_COORD:,.0f} to {MAX_COORD:,.0f}",
        )
        return float(value)

    def position(self, value: Any, location: str) -> tuple[float, float]:
        self.expect(
            isinstance(value, list) and len(value) == 2,
            location,
            "must be a list of two numbers [x, y]",
        )
        return (self.number(value[0], f"{location}[0]"), self.number(value[1], f"{location}[1]"))

    def port_ref(self, value: Any, location: str) -> PortRef:
        self.expect(
            isinstance(value, dict), location, 'must be an object {"node": ..., "port": ...}'
        )
        return PortRef(
            self.string(value.get("node"), f"{location}.node", required=True),
            self.string(value.get("port"), f"{location}.port", required=True),
        )

    def param_value(self, value: Any, location: str) -> Any:
        """Parameters are scalars or (nested once) lists of scalars; lists become tuples."""
        if isinstance(value, list):
            self.expect(len(value) <= 64, location, "lists of parameters hold at most 64 items")
            return tuple(self._scalar(v, f"{location}[{i}]") for i, v in enumerate(value))
        return self._scalar(value, location)

    def _scalar(self, value: Any, location: str) -> Any:
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int):
            self.expect(abs(value) < 2**53, location, "the number is too large")
            return value
        if isinstance(value, float):
            self.expect(math.isfinite(value), location, "must be a finite number")
            return value
        if isinstance(value, str):
            self.expect(len(value) <= 1000, location, "is longer than 1000 characters")
            self.text(value, location)
            return value
        self.fail(location, "must be a number, true/false, text, or a list of those")
        raise AssertionError("unreachable")

    def plain_json(self, value: Any, location: str, depth: int) -> None:
        self.expect(depth <= MAX_NESTING, location, "is nested too deeply")
        if isinstance(value, dict):
            for k, v in value.items():
                self.text(k, f"{location} (a key)")
                self.plain_json(v, f"{location}.{k}", depth + 1)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self.plain_json(v, f"{location}[{i}]", depth + 1)
        elif isinstance(value, float):
            self.expect(math.isfinite(value), location, "must be a finite number")
        elif isinstance(value, int) and not isinstance(value, bool):
            self.expect(abs(value) < 2**53, location, "the number is too large")
        elif isinstance(value, str):
            self.text(value, location)
