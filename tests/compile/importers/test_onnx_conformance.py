"""The ONNX importer held to the ONNX backend node tests (onnx 1.22.0's own test data).

Every node case runs with its weight inputs stored as initializers, as exported files hold them
(see tests/onnx_conformance.py). No case may give a wrong answer while claiming success, none may
raise, and every case in onnx_conformance_passing.txt must still match the case's expected
outputs: the list may grow, never shrink (regenerate it with
``benchmarks/bench_onnx_conformance.py --write-passing``). Skipped, with the reason, when the onnx
wheel cannot be fetched from the package registry.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from onnx_backend_data import DataUnavailable, backend_data, node_cases
from onnx_conformance import run_case

PASSING = Path(__file__).with_name("onnx_conformance_passing.txt")


@pytest.fixture(scope="module")
def outcomes():
    try:
        data = backend_data()
    except DataUnavailable as exc:
        pytest.skip(f"the ONNX backend test data is not available: {exc}")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return {case.name: run_case(case) for case in node_cases(data)}
    finally:
        torch.set_num_threads(threads)


def test_no_case_raises_or_claims_a_wrong_answer(outcomes) -> None:
    bad = [f"{o.kind} {o.name}: {o.detail}" for o in outcomes.values() if o.kind != "exact"]
    bad = [line for line in bad if not line.startswith("refused")]
    assert not bad, "\n".join(bad)


def test_refusals_are_one_line_naming_where(outcomes) -> None:
    for outcome in outcomes.values():
        if outcome.kind == "refused":
            assert outcome.detail and "\n" not in outcome.detail, outcome


def test_the_passing_cases_still_pass(outcomes) -> None:
    passing = PASSING.read_text().split()
    assert len(passing) >= 60  # the list itself cannot silently empty
    lost = [f"{n}: {outcomes[n].kind} {outcomes[n].detail}" for n in passing if n in outcomes]
    lost = [line for line in lost if ": exact" not in line]
    missing = [n for n in passing if n not in outcomes]
    assert not missing, f"cases gone from the test data: {missing}"
    assert not lost, "\n".join(lost)
