"""Property test: whatever bytes a project file holds, loading raises only ProjectFileError.

Generated documents are mutated the ways real files break: keys deleted, values swapped for
random JSON of the wrong type, text truncated, bytes flipped, wrong versions. Whatever loads is
analysed too, which must not raise either.
"""

from __future__ import annotations

import json

from graph_builders import lenet5, mlp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlstudio.analysis import analyze
from dlstudio.core import ProjectFileError, loads_project
from dlstudio.core.serialization import graph_to_dict
from dlstudio.layers.validation import check_node

BASE_DOCS = [graph_to_dict(lenet5()), graph_to_dict(mlp())]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _paths(value, prefix=()):
    """Every path into a JSON value (for picking a place to mutate)."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


@st.composite
def mutated_documents(draw) -> bytes:
    doc = json.loads(json.dumps(draw(st.sampled_from(BASE_DOCS))))
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["delete", "replace", "replace_type", "duplicate"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = draw(json_values)
        elif action == "replace_type":
            parent[path[-1]] = draw(st.sampled_from([None, "", [], {}, -1, 1e308, "conv2d"]))
        elif isinstance(parent, list):
            parent.append(parent[path[-1]])
    text = json.dumps(doc).encode()
    damage = draw(st.sampled_from(["none", "truncate", "flip", "prefix"]))
    if damage == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    elif damage == "flip":
        at = draw(st.integers(0, len(text) - 1))
        text = text[:at] + bytes([draw(st.integers(0, 255))]) + text[at + 1 :]
    elif damage == "prefix":
        text = draw(st.binary(max_size=8)) + text
    return text


def _load_and_analyse(data: bytes) -> None:
    try:
        graph = loads_project(data, source="fuzz.json", node_checker=check_node)
    except ProjectFileError as exc:
        assert "fuzz.json" in str(exc)
        return
    analyze(graph)  # anything that loads must analyse without raising


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated_documents())
def test_mutated_files_raise_only_project_file_errors(data):
    _load_and_analyse(data)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(json_values)
def test_arbitrary_json_raises_only_project_file_errors(value):
    _load_and_analyse(json.dumps(value).encode())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_project_file_errors(data):
    _load_and_analyse(data)
