"""How long a full analysis (structure, shapes, statistics) takes: run on demand.

    .venv/bin/python benchmarks/bench_analysis.py

Targets: a 1,000-node graph within 20 ms, a ResNet-50-sized graph within 10 ms, a 50-stage
block model (1,050 layers once expanded, one distinct block) within 10 ms, and a 10,000-node
compile (analysis, code generation and building the torch module) within 1 s, and the 200-node
code generation of the live preview within 50 ms, on the 2-core
development machine, one torch thread. The block model shows that the work grows with the
distinct blocks, not the copies; the 10x lines show that analysis and compile grow linearly
with the graph (a ratio near 10 for 10x the nodes; a quadratic walk gives about 100).
The targets are wall-clock medians; the cpu column (this process's CPU time) shows the cost
when other jobs share the machine. The last line builds the compile's PyTorch modules written
by hand: the part of the compile no generator can make faster.
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
from dlstudio.compile import compile_graph, generate_source


def _timed(call, repeats: int) -> tuple[float, float, float]:
    """Median and best wall time, and median process CPU time, of ``call()`` in ms. The CPU
    time counts this process only, so it changes less when other jobs share the machine."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        call()
        cpus.append((time.process_time() - cpu) * 1000)
        walls.append((time.perf_counter() - wall) * 1000)
    return statistics.median(walls), min(walls), statistics.median(cpus)


def time_analysis(graph, repeats: int = 30) -> tuple[float, float, float]:
    """Median and best wall time and median CPU time of ``analyze(graph)`` in ms."""
    result = analyze(graph)  # warm caches (imports, networkx)
    assert not result.has_errors, result.errors[:3]
    return _timed(lambda: analyze(graph), repeats)


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


def time_compile(graph, repeats: int = 3) -> tuple[float, float, float]:
    """Median and best wall time and median CPU time of ``compile_graph(graph)`` in ms."""
    return _timed(lambda: compile_graph(graph), repeats)


class _HandWritten(torch.nn.Module):
    """The layers of ``residual_chain(n)`` written by hand: its ``nn.Linear(64, 64)`` modules
    (ReLU and the adds have none), with PyTorch's default initialisation."""

    def __init__(self, linears: int) -> None:
        super().__init__()
        for i in range(linears):
            setattr(self, f"fc{i}", torch.nn.Linear(64, 64))


def main() -> None:
    """Print the figures against their targets."""
    torch.set_num_threads(1)
    cases = [
        ("ResNet-50", resnet50(), 10.0),
        ("1,000-node graph", residual_chain(1000), 20.0),
        ("50-stage blocks", block_stages(50), 10.0),
    ]
    head = f"{'graph':34} {'nodes':>6} {'median ms':>10} {'best ms':>8} {'cpu ms':>8} {'target ms':>10}"
    print(head)

    def row(name, nodes, median, best, cpu, target, note="") -> None:
        verdict = "" if target is None else ("  ok" if median <= target else "  SLOW")
        shown = "-" if target is None else f"{target:.1f}"
        print(
            f"{name:34} {nodes:6d} {median:10.2f} {best:8.2f} {cpu:8.2f} {shown:>10}{verdict}{note}"
        )

    for name, graph, target in cases:
        median, best, cpu = time_analysis(graph)
        if graph.blocks:
            name = f"{name} ({expanded_layers(graph)} expanded)"
        row(name, len(graph), median, best, cpu, target)
    chain = residual_chain(200)  # the live code preview regenerates on every edit
    analysis = analyze(chain)
    generate_source(chain, analysis)
    median, best, cpu = _timed(lambda: generate_source(chain, analysis), 10)
    row("200-node code generation", len(chain), median, best, cpu, 50.0)
    small, large = residual_chain(1000), residual_chain(10000)
    compile_graph(small)  # warm the imports
    for what, timer, target in (
        ("analysis", time_analysis, None),
        ("compile", time_compile, 1000.0),
    ):
        small_ms = timer(small, 3)[0]
        median, best, cpu = timer(large, 3)
        note = f"  (10x the nodes: {median / small_ms:.1f}x the time)"
        row("10,000-node " + what, len(large), median, best, cpu, target, note)
    linears = sum(1 for node in large if node.type_id == "dense")
    median, best, cpu = _timed(lambda: _HandWritten(linears), 3)
    note = f"  (the floor of the compile: {linears:,} nn.Linear, default init)"
    row("hand-written PyTorch module", len(large), median, best, cpu, None, note)


if __name__ == "__main__":
    main()
