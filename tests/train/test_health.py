"""Training health: activation statistics and gradient norms sampled from outside the Trainer."""

from __future__ import annotations

import sys

import pytest
import torch
from graph_builders import iris_mlp

from dlstudio.compile import compile_graph
from dlstudio.core import LayerGraph
from dlstudio.train import FinishedEvent, StepEvent, TrainConfig, Trainer, load_dataset
from dlstudio.train.health import HealthEvent, HealthMonitor, node_warnings


@pytest.fixture(scope="module")
def iris():
    return load_dataset("iris")


def train(graph: LayerGraph, iris, bias: float | None = None, every: int = 2, trace: bool = True):
    compiled = compile_graph(graph)
    if bias is not None:
        with torch.no_grad():
            compiled.module.fc1.bias.fill_(bias)
    seen: list[object] = []
    if trace:
        monitor = HealthMonitor(graph, compiled, seen.append, every=every)
    else:
        monitor = _module_hook_monitor(graph, compiled, seen)
    config = TrainConfig(
        epochs=2, batch_size=16, lr=0.01, report_every_steps=4, report_every_s=60.0
    )
    trace_before = sys.gettrace()
    Trainer(compiled.module, config, callbacks=[monitor.on_event, seen.append]).run(iris)
    monitor.close()
    assert sys.gettrace() is trace_before  # tracing never leaks out of the sampled steps
    return compiled, seen


def _module_hook_monitor(graph, compiled, seen):
    """A monitor that could not match the generated source: module hooks only."""
    original = HealthMonitor._match_lines
    HealthMonitor._match_lines = lambda self, graph, compiled: {}
    try:
        return HealthMonitor(graph, compiled, seen.append, every=2)
    finally:
        HealthMonitor._match_lines = original


def test_dead_relu_and_vanished_gradients_are_reported(iris):
    compiled, seen = train(iris_mlp(), iris, bias=-100.0)
    health = [e for e in seen if isinstance(e, HealthEvent)]
    assert health, "no HealthEvent was sent"
    # Each report comes before the trainer event that triggered it, with a matching step.
    first = seen.index(health[0])
    assert isinstance(seen[first + 1], StepEvent) and health[0].step <= seen[first + 1].step
    last = health[-1]
    relu = last.node("n3")
    assert relu.zero_fraction == 1.0 and relu.mean == 0.0
    assert any("mostly dead" in w and "relu1" in w for w in relu.warnings)
    assert last.node("n2").grad_norm == 0.0
    assert any("vanished" in w for w in last.node("n2").warnings)
    assert last.node("n4").grad_norm > 0 and not last.node("n4").warnings
    assert isinstance(seen[-1], FinishedEvent)
    # close() removed every hook: the model is exactly as it was compiled.
    module = compiled.module
    assert not module._forward_pre_hooks and not module._forward_hooks
    assert all(not p._post_accumulate_grad_hooks for p in module.parameters())


def test_healthy_model_has_no_warnings_and_measures_every_node(iris):
    _compiled, seen = train(iris_mlp(), iris)
    last = [e for e in seen if isinstance(e, HealthEvent)][-1]
    assert last.warnings == []
    assert {n.node_id for n in last.nodes if n.mean is not None} == {"n2", "n3", "n4"}
    relu = last.node("n3")
    assert 0.0 < relu.zero_fraction < 0.9 and relu.out_grad_norm > 0
    assert relu.grad_norm is None  # no parameters of its own


def test_module_hooks_are_the_fallback(iris):
    _compiled, seen = train(iris_mlp(), iris, bias=-100.0, trace=False)
    last = [e for e in seen if isinstance(e, HealthEvent)][-1]
    # Without the source map only submodules are seen: the functional ReLU is not measured,
    # but fc1's dead gradients still are.
    assert last.node("n3").mean is None
    assert last.node("n2").mean is not None and last.node("n2").grad_norm == 0.0


def test_sampling_every_k_steps(iris):
    graph = iris_mlp()
    compiled = compile_graph(graph)
    monitor = HealthMonitor(graph, compiled, lambda e: None, every=3)
    sampled, hooked = [], []
    x = iris.data.inputs[0][:8]
    for _ in range(7):
        compiled.module.train()
        compiled.module(x).sum().backward()
        sampled.append(monitor._sampling)
        hooked.append(any(p._post_accumulate_grad_hooks for p in compiled.module.parameters()))
    with torch.no_grad():  # evaluation passes are not steps
        compiled.module.eval()
        compiled.module(x)
    monitor.close()
    assert sampled == [True, False, False, True, False, False, True]
    assert monitor._count == 7
    # Parameters carry hooks only during a sampled step: ordinary steps run unhooked.
    assert hooked == sampled


def test_a_time_budget_spaces_out_costly_samples(iris, monkeypatch):
    """With a budget, a sample that costs 9 ordinary steps at a 2% budget is spaced 450 steps
    apart; cheap samples keep ``every``; without a budget the interval never changes."""
    import dlstudio.train.health as health

    graph = iris_mlp()
    compiled = compile_graph(graph)
    clock = [0.0]
    monkeypatch.setattr(health.time, "perf_counter", lambda: clock[0])
    x = iris.data.inputs[0][:8]

    def steps(monitor, count, sampled_cost):
        for _ in range(count):
            compiled.module.train()
            compiled.module(x).sum().backward()
            clock[0] += 10.0 * sampled_cost if monitor._sampling else 1.0

    costly = HealthMonitor(graph, compiled, lambda e: None, every=5, time_budget=0.02)
    steps(costly, 12, 1.0)
    assert costly.interval == 450
    costly.close()
    cheap = HealthMonitor(graph, compiled, lambda e: None, every=5, time_budget=0.02)
    steps(cheap, 12, 0.1001)  # a sample costs what an ordinary step does
    assert cheap.interval == 5
    cheap.close()
    fixed = HealthMonitor(graph, compiled, lambda e: None, every=5)
    steps(fixed, 12, 1.0)
    assert fixed.interval == 5
    fixed.close()
    # Sampling every step: the budget still gets a plain step to compare with.
    every_step = HealthMonitor(graph, compiled, lambda e: None, every=1, time_budget=0.02)
    steps(every_step, 12, 1.0)
    assert every_step.interval == 450
    every_step.close()


def test_min_seconds_spaces_samples_of_a_fast_model_in_time(iris, monkeypatch):
    """Steps of 10 ms, every=5 and min_seconds=0.5: a sample every 50 steps, not every 5."""
    import dlstudio.train.health as health

    graph = iris_mlp()
    compiled = compile_graph(graph)
    clock = [0.0]
    monkeypatch.setattr(health.time, "perf_counter", lambda: clock[0])
    monitor = HealthMonitor(graph, compiled, lambda e: None, every=5, min_seconds=0.5)
    x = iris.data.inputs[0][:8]
    sampled = []
    for step in range(1, 121):
        compiled.module.train()
        compiled.module(x).sum().backward()
        if monitor._sampling:
            sampled.append(step)
        clock[0] += 0.01
    monitor.close()
    assert sampled == [1, 51, 101]


def test_warning_thresholds():
    assert node_warnings("r", "relu", 0.95, None, 0.1)
    assert not node_warnings("r", "relu", 0.85, None, 0.1)
    assert not node_warnings("t", "tanh", 0.99, None, 0.1)  # zeros only mean death for ReLUs
    assert "vanished" in node_warnings("d", "dense", None, 1e-8, 0.0)[0]
    assert "exploding" in node_warnings("d", "dense", None, 5e3, 0.0)[0]
    assert "not finite" in node_warnings("d", "dense", None, None, float("nan"))[0]
    for bad in (float("nan"), float("inf")):
        assert node_warnings("d", "dense", None, bad, 0.0) == (
            f"d: gradient norm is {bad} (not finite); its weights will be ruined (lower the "
            "learning rate or turn on gradient clipping)",
        )
    assert not node_warnings("d", "dense", None, 0.5, 0.0)


def test_nan_gradients_are_reported_by_the_monitor(iris):
    """A gradient that turns NaN on its way into fc1 (the loss itself still finite): the
    sampled norm is NaN and the node says so."""
    graph = iris_mlp()
    compiled = compile_graph(graph)
    compiled.module.fc1.weight.register_hook(lambda grad: grad * float("nan"))
    seen: list[object] = []
    monitor = HealthMonitor(graph, compiled, seen.append, every=1)
    config = TrainConfig(epochs=1, batch_size=16, lr=0.01, report_every_steps=1)
    Trainer(compiled.module, config, callbacks=[monitor.on_event, seen.append]).run(iris)
    monitor.close()
    first = next(e for e in seen if isinstance(e, HealthEvent))
    fc1 = first.node("n2")
    assert fc1.grad_norm != fc1.grad_norm  # NaN
    assert any("fc1: gradient norm is nan (not finite)" in w for w in fc1.warnings)
    assert not first.node("n4").warnings  # fc2's own gradient is still finite
