"""Fuzzing every template (fixed seed): 2,100 mutated files, only typed errors.

Structural and byte mutations of each file in ``templates/`` (see ``tests/fuzz_mutator.py``);
every refusal must be a located ProjectFileError, and every file that loads must analyse, save
and load again. ``benchmarks/fuzz_loader.py`` runs the same fuzzer on 20,000 files.
"""

from __future__ import annotations

import fuzz_mutator

FILES_PER_RUN = 2100
SEED = 20261201


def test_mutated_templates_raise_only_typed_errors():
    counts = fuzz_mutator.run(SEED, FILES_PER_RUN)
    assert counts.untyped == [], counts.untyped[:5]
    assert counts.loaded + counts.refused == FILES_PER_RUN
    # Both paths are exercised: refusals of many kinds, and loaded files reaching analysis.
    assert counts.loaded > 100 and counts.refused > 1000
    assert {"JSON syntax", "not UTF-8", "nodes", "edges"} <= set(counts.refusal_places)


def test_every_template_is_mutated_both_ways_and_the_fuzzer_is_repeatable():
    templates = {name for name, _ in fuzz_mutator.template_documents()}
    first = list(fuzz_mutator.mutated_files(SEED, 3 * len(templates)))
    assert {(name, kind) for name, kind, _ in first} == {
        (name, kind) for name in templates for kind in ("structural", "bytes", "both")
    }
    assert first == list(fuzz_mutator.mutated_files(SEED, 3 * len(templates)))
