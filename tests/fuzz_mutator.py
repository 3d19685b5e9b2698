"""A seeded mutation fuzzer for project files, shared by the test suite and
``benchmarks/fuzz_loader.py``.

Each mutated file starts from one file in ``templates/`` (so every section a template has,
``blocks`` included, gets mutated) and receives structural mutations (a key deleted, a value
replaced by a hostile one such as a 310-digit integer, a lone surrogate, a terminal escape, a
coordinate that rounds past the limit, a list where an object belongs; list items duplicated or
dropped; ids collided) and/or byte mutations (truncation, flipped, inserted, deleted or repeated
bytes, an invalid UTF-8 sequence, a BOM, a digit run). :func:`check` then loads the file the way
the program does and says what happened; anything but a :class:`ProjectFileError` while loading,
or any error at all while analysing, saving and reloading what loaded, is a failure.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlstudio.analysis import analyze
from dlstudio.core import ProjectFileError, dumps_project, loads_project
from dlstudio.core.terminal import escape_controls
from dlstudio.layers.validation import check_node

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

HOSTILE_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    2**31,
    2**53,
    2**64,
    int("9" * 310),
    -int("9" * 310),
    1e308,
    -1e308,
    5e-324,
    999999999.999,
    -999999999.999,
    1e9,
    0.5,
    "",
    " ",
    "x" * 1001,
    "\ud800",
    "a\udfffb",
    "\x1b]0;pwned\x07\x1b[2J",
    "\u202eevil",
    "\x00",
    "conv2d",
    "block",
    "N",
    "T",
    "../../etc/passwd",
    [],
    {},
    [[]],
    [[[[[[[[]]]]]]]],
    [1, 2, 3],
    ["N", 3, 32, 32],
    [0.1, "x", None],
    {"node": "n1", "port": "out"},
    {"a": {"b": {"c": {}}}},
    list(range(70)),
]
BYTE_MUTATIONS = ("truncate", "flip", "insert", "delete", "repeat", "bad_utf8", "bom", "digits")


def template_documents(folder: Path = TEMPLATES_DIR) -> list[tuple[str, dict[str, Any]]]:
    """``(name, parsed JSON)`` of every template file."""
    return [
        (p.stem, json.loads(p.read_text(encoding="utf-8"))) for p in sorted(folder.glob("*.json"))
    ]


def _paths(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


def _param(rng: random.Random, doc: Any) -> bool:
    """Give a node's known parameter a hostile value (files that load reach the analysis)."""
    nodes = doc.get("nodes") if isinstance(doc, dict) else None
    nodes = nodes if isinstance(nodes, list) else []
    choices = [n for n in nodes if isinstance(n, dict) and isinstance(n.get("params"), dict)]
    choices = [n for n in choices if n["params"]]
    if not choices:
        return False
    params = rng.choice(choices)["params"]
    value = rng.choice([v for v in HOSTILE_VALUES if not isinstance(v, dict)])
    if isinstance(value, list):
        value = [v for v in value if not isinstance(v, list)]
    params[rng.choice(list(params))] = value
    return True


def _structural(rng: random.Random, doc: Any) -> Any:
    if rng.random() < 0.4 and _param(rng, doc):
        return doc
    paths = [p for p in _paths(doc) if p]
    if not paths:
        return rng.choice(HOSTILE_VALUES)
    path = rng.choice(paths)
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    action = rng.randrange(7)
    if action == 0:
        del parent[key]
    elif action in (1, 2):
        parent[key] = rng.choice(HOSTILE_VALUES)
    elif action == 3 and isinstance(parent, list):
        parent.insert(rng.randrange(len(parent) + 1), json.loads(json.dumps(parent[key])))
    elif action == 4 and isinstance(parent, dict):  # a hostile extra key
        parent[rng.choice(["\ud800", "\x1b[31m", "x" * 50, "id", "name", "blocks"])] = rng.choice(
            HOSTILE_VALUES
        )
    elif action == 5:  # copy another value of the document here (ids collide, types mix)
        other = rng.choice(paths)
        source = doc
        for part in other:
            source = source[part]
        parent[key] = json.loads(json.dumps(source))
    else:
        parent[key] = [parent[key]] if rng.random() < 0.5 else {"value": parent[key]}
    return doc


def _bytes(rng: random.Random, data: bytes) -> bytes:
    kind = rng.choice(BYTE_MUTATIONS)
    size = len(data)
    at = rng.randrange(size) if size else 0
    if kind == "truncate":
        return data[: rng.randrange(size + 1)]
    if kind == "flip":
        return data[:at] + bytes([rng.randrange(256)]) + data[at + 1 :]
    if kind == "insert":
        return data[:at] + rng.randbytes(rng.randrange(1, 9)) + data[at:]
    if kind == "delete":
        return data[:at] + data[at + rng.randrange(1, 64) :]
    if kind == "repeat":
        end = min(size, at + rng.randrange(1, 200))
        return data[:end] + data[at:end] * rng.randrange(1, 4) + data[end:]
    if kind == "bad_utf8":
        return data[:at] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90"]) + data[at:]
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    # digits: make a number enormous in place
    digits = [i for i in range(size) if 48 <= data[i] <= 57]
    if not digits:
        return data
    at = rng.choice(digits)
    return data[:at] + b"9" * rng.choice([20, 310, 400]) + data[at:]


def mutated_files(seed: int, count: int) -> Iterator[tuple[str, str, bytes]]:
    """``count`` mutated files ``(template, kind, bytes)``; templates are used in turn, so every
    one is mutated; kinds are ``structural``, ``bytes`` or ``both``."""
    rng = random.Random(seed)
    docs = template_documents()
    for index in range(count):
        name, base = docs[index % len(docs)]
        doc = json.loads(json.dumps(base))
        kind = ("structural", "bytes", "both")[(index // len(docs)) % 3]
        if kind != "bytes":
            for _ in range(rng.randint(1, 4)):
                doc = _structural(rng, doc)
        if rng.random() < 0.5:
            text = json.dumps(doc)
        else:
            text = json.dumps(doc, ensure_ascii=False, indent=rng.choice([None, 2]))
        data = text.encode("utf-8", "surrogatepass")
        if kind != "structural":
            for _ in range(rng.randint(1, 3)):
                data = _bytes(rng, data)
        yield name, kind, data


@dataclass
class FuzzCounts:
    """What happened to the mutated files."""

    loaded: int = 0
    refused: int = 0
    untyped: list[tuple[str, str]] = field(default_factory=list)
    """``(template, error)`` of every file that raised anything but a ProjectFileError."""
    refusal_places: Counter = field(default_factory=Counter)


def check(data: bytes) -> str:
    """Load ``data`` as the program does; ``"refused"`` or ``"loaded"``, or raise for a bug.

    A refusal must be a located :class:`ProjectFileError` that can be printed; what loads must
    analyse, save, and load again to the same text.
    """
    try:
        graph = loads_project(data, source="fuzz.json", node_checker=check_node)
    except ProjectFileError as exc:
        message = str(exc)
        assert message.startswith("fuzz.json")
        message.encode("utf-8")  # printable: no lone surrogates in messages
        return "refused"
    analyze(graph)
    text = dumps_project(graph)
    again = loads_project(text, source="fuzz-saved.json", node_checker=check_node)
    assert dumps_project(again) == text, "saving and loading again changed the file"
    for node in graph:
        escape_controls(node.name).encode("utf-8")
    return "loaded"


def run(seed: int, count: int) -> FuzzCounts:
    """Check ``count`` mutated files from ``seed``."""
    counts = FuzzCounts()
    for name, _kind, data in mutated_files(seed, count):
        try:
            outcome = check(data)
        except Exception as exc:  # the bug being looked for: collected, not raised
            counts.untyped.append((name, f"{type(exc).__name__}: {exc}"[:300]))
            continue
        if outcome == "loaded":
            counts.loaded += 1
        else:
            counts.refused += 1
            try:
                loads_project(data, source="f", node_checker=check_node)
            except ProjectFileError as exc:
                counts.refusal_places[_place(exc.location)] += 1
    return counts


def _place(location: str) -> str:
    if location.startswith("line "):
        return "JSON syntax"
    if location.startswith("byte "):
        return "not UTF-8"
    head = location.split(",")[0].split(".")[0].split("[")[0].split(" ")[0]
    return head or "(whole file)"
