"""How long a full analysis (structure, shapes, statistics) takes: run on demand.

    .venv/bin/python benchmarks/bench_analysis.py

Targets: a 1,000-node graph within 20 ms, a ResNet-50-sized graph within 10 ms, a 50-stage
block model (1,050 layers once expanded, one distinct block) within 10 ms, and a 10,000-node
compile (analysis, code generation and building the torch module) within 1 s, on the 2-core
development machine, one torch thread. The block model shows that the work grows with the
distinct blocks, not the copies; the 10x lines show that analysis and compile grow linearly
with the graph (a ratio near 10 for 10x the nodes; a quadratic walk gives about 100).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch
from graphs import block_stages, residual_chain, resnet50

from dlstudio.analysis import analyze
from dlstudio.compile import compile_graph


def time_analysis(graph, repeats: int = 30) -> tuple[float, float]:
    """Median and best wall time of ``analyze(graph)`` in milliseconds."""
    analyze(graph)  # warm caches (imports, networkx)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = analyze(graph)
        samples.append((time.perf_counter() - start) * 1000)
    assert not result.has_errors, result.errors[:3]
    return statistics.median(samples), min(samples)


def expanded_layers(graph) -> int:
    """Layers in the model with every block instance replaced by its copies' layers."""
    count = 0
    for node in graph:
        if node.type_id == "block":
            definition = graph.blocks[node.params["block"]]
            inner = sum(1 for n in definition.graph if n.type_id not in ("input", "output"))
            count += inner * node.params.get("repeat", 1)
        else:
            count += 1
    return count


def time_compile(graph, repeats: int = 3) -> tuple[float, float]:
    """Median and best wall time of ``compile_graph(graph)`` in milliseconds."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        compile_graph(graph)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), min(samples)


def main() -> None:
    """Print the figures against their targets."""
    torch.set_num_threads(1)
    cases = [
        ("ResNet-50", resnet50(), 10.0),
        ("1,000-node graph", residual_chain(1000), 20.0),
        ("50-stage blocks", block_stages(50), 10.0),
    ]
    print(f"{'graph':34} {'nodes':>6} {'median ms':>10} {'best ms':>8} {'target ms':>10}")
    for name, graph, target in cases:
        median, best = time_analysis(graph)
        if graph.blocks:
            name = f"{name} ({expanded_layers(graph)} expanded)"
        verdict = "ok" if median <= target else "SLOW"
        print(f"{name:34} {len(graph):6d} {median:10.2f} {best:8.2f} {target:10.1f}  {verdict}")
    small, large = residual_chain(1000), residual_chain(10000)
    compile_graph(small)  # warm the imports
    for what, timer, target in (
        ("analysis", time_analysis, None),
        ("compile", time_compile, 1000.0),
    ):
        small_ms = timer(small, 3)[0]
        median, best = timer(large, 3)
        verdict = "" if target is None else ("  ok" if median <= target else "  SLOW")
        shown = "-" if target is None else f"{target:.1f}"
        print(
            f"{'10,000-node ' + what:34} {len(large):6d} {median:10.2f} {best:8.2f} {shown:>10}"
            f"{verdict}  (10x the nodes: {median / small_ms:.1f}x the time)"
        )


if __name__ == "__main__":
    main()
