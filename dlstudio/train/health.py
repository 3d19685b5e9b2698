"""Training health: per-node activation statistics and gradient norms, sampled every K steps.

:class:`HealthMonitor` attaches to a compiled model from the outside (no change to the
:class:`~dlstudio.train.Trainer`): a forward pre-hook on the root module picks every K-th training
step; on that step it records, for every node of the drawing, the mean, standard deviation and
fraction of zeros of the node's output, the norm of the gradient flowing into that output, and
the norm of the node's parameter gradients.

Activation functions compile to plain calls (``x = F.relu(x)``), not submodules, so module hooks
cannot see them. On a sampled step the monitor therefore traces the lines of the generated
``forward`` (one line per node, see ``dlstudio.compile.codegen.plan``) and reads each line's
result; module forward hooks are the fallback when the source cannot be matched.

Nothing here reads a value back from the device while training: statistics stay tensors until
the trainer's own report (a :class:`~dlstudio.train.StepEvent`, which already synchronised), and
are then converted in one transfer and sent as a :class:`HealthEvent` through ``emit``. Register
:meth:`HealthMonitor.on_event` as a trainer callback *before* the callback that forwards events.
What a sample reports (:class:`HealthEvent`, :class:`NodeHealth`, the warnings) is in
``health_report``; it is importable from here too.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from dlstudio.train.events import EpochEvent, FailedEvent, FinishedEvent, PausedEvent, StepEvent
from dlstudio.train.health_report import HealthEvent, NodeHealth, node_warnings

_STRUCTURAL = ("input", "output")
TIME_BUDGET = 0.02
"""The editor's budget: at most this fraction of the training time goes to sampling. Where a
sampled step costs more than ``every`` ordinary steps can pay for, samples are spaced further
apart."""
MAX_INTERVAL = 1000
MIN_SECONDS = 0.5
"""The editor's shortest time between samples: badges that change twice a second can be read."""


@dataclass
class _NodeInfo:
    node_id: str
    name: str
    type_id: str
    attr: str


class HealthMonitor:
    """Samples node health every ``every`` training steps and reports :class:`HealthEvent` s.
    With ``time_budget`` (a fraction, e.g. :data:`TIME_BUDGET`), samples are spaced further
    apart when sampling would cost more than that share of the training time; with
    ``min_seconds``, at least that long apart.

    ``graph`` is the drawing the model was compiled from and ``compiled`` its
    :class:`~dlstudio.compile.CompiledModel`; ``emit`` receives the events (on the trainer's
    thread). Call :meth:`close` after the run to remove every hook.
    """

    def __init__(
        self,
        graph: Any,
        compiled: Any,
        emit: Callable[[HealthEvent], None],
        every: int = 20,
        time_budget: float | None = None,
        min_seconds: float = 0.0,
    ) -> None:
        self.model: nn.Module = compiled.module
        self.min_seconds = min_seconds
        """At least this long between samples (fast models reach ``every`` steps many times a
        second: more reports than anyone reads, each repainting the badges)."""
        self._sampled_at = -math.inf
        self.every = max(1, int(every))
        self.interval = self.every
        """Steps between samples now: ``every``, or more where a sample costs too much."""
        self._emit = emit
        self.time_budget = time_budget
        self._step_started: float | None = None
        self._plain_step_s: float | None = None
        self._timing_sample = False
        self._since_sample = 0
        attrs = compiled.node_attrs
        self._nodes = {
            node.id: _NodeInfo(node.id, node.name, node.type_id, attrs.get(node.id, node.name))
            for node in graph
            if node.type_id not in _STRUCTURAL
        }
        self._count = 0
        self._sampling = False
        self._sample_count = 0
        self._act: dict[str, torch.Tensor] = {}
        self._out_grad: dict[str, torch.Tensor] = {}
        self._param_grad: dict[str, list[torch.Tensor]] = {}
        self._ready: tuple[int, dict, dict, dict] | None = None
        self._previous_trace: Any = None
        self._tracing = False
        self._last_line = 0
        self._forward_code = type(self.model).forward.__code__
        self._line_map = self._match_lines(graph, compiled)
        self._handles: list[Any] = [
            self.model.register_forward_pre_hook(self._on_model_pre_forward),
            self.model.register_forward_hook(self._on_model_forward, always_call=True),
        ]
        self._step_handles: list[Any] = []
        """Hooks on layers and parameters: attached for a sampled step only (a hook on every
        layer makes every step slower, sampled or not)."""
        self._measured = self._measured_modules()

    # -- set-up ----------------------------------------------------------------------------------

    def _match_lines(self, graph: Any, compiled: Any) -> dict[int, tuple[str, str]]:
        """Line number of each forward() line -> (node id, variable it assigns); {} if unsure."""
        analysis = getattr(compiled, "analysis", None)
        if analysis is None:
            return {}
        kinds = {node.id: node.type_id for node in graph}
        order = [n for n in analysis.order if kinds.get(n) not in _STRUCTURAL]
        lines = compiled.source.splitlines()
        first = self._forward_code.co_firstlineno  # 1-based line of "def forward"
        body: list[tuple[int, str]] = []
        for number in range(first + 1, len(lines) + 1):
            text = lines[number - 1].split("  # ", 1)[0].strip()
            if text.startswith("#"):
                continue  # a step's shape comment, above a long line
            if text.startswith("return") or not text:
                break
            body.append((number, text))
        if len(body) != len(order) or any(" = " not in text for _n, text in body):
            return {}
        out: dict[int, tuple[str, str]] = {}
        for (number, text), node_id in zip(body, order, strict=True):
            targets = [t.strip() for t in text.split(" = ", 1)[0].split(",")]
            named = [t for t in targets if t.isidentifier() and t != "_"]
            if named:
                out[number] = (node_id, named[0])
        return out

    def _measured_modules(self) -> list[tuple[str, nn.Module]]:
        found = []
        for info in self._nodes.values():
            module = getattr(self.model, info.attr, None)
            if isinstance(module, nn.Module):
                found.append((info.node_id, module))
        return found

    def _attach_step_hooks(self) -> None:
        for node_id, module in self._measured:
            if not self._line_map:
                self._step_handles.append(module.register_forward_hook(self._module_hook(node_id)))
            for param in module.parameters():
                if param.requires_grad:
                    hook = self._param_hook(node_id)
                    self._step_handles.append(param.register_post_accumulate_grad_hook(hook))

    def _detach_step_hooks(self) -> None:
        for handle in self._step_handles:
            handle.remove()
        self._step_handles.clear()

    def _module_hook(self, node_id: str) -> Callable[..., None]:
        def hook(_module: nn.Module, _args: Any, output: Any) -> None:
            if self._sampling:
                self._record(node_id, output)

        return hook

    def _param_hook(self, node_id: str) -> Callable[[torch.Tensor], None]:
        def hook(param: torch.Tensor) -> None:
            if self._sampling and param.grad is not None:
                squared = param.grad.detach().float().pow(2).sum()
                self._param_grad.setdefault(node_id, []).append(squared)

        return hook

    def close(self) -> None:
        """Remove every hook and stop tracing (safe to call twice)."""
        self._stop_tracing()
        self._detach_step_hooks()
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    # -- sampling --------------------------------------------------------------------------------

    def _on_model_pre_forward(self, module: nn.Module, _args: Any) -> None:
        if not (module.training and torch.is_grad_enabled()):
            return  # evaluation passes are not training steps
        self._time_step()
        self._finish_sample()
        self._count += 1
        self._since_sample += 1
        # With a budget, a plain step is timed before the second sample: the budget needs its
        # cost (sampling every step would otherwise never measure one).
        timed = self.time_budget is None or self._plain_step_s is not None
        due = self._since_sample >= self.interval and timed
        if due and self.min_seconds:
            due = time.perf_counter() - self._sampled_at >= self.min_seconds
        self._sampling = self._count == 1 or due
        if self._sampling:
            self._sampled_at = time.perf_counter()
            self._since_sample = 0
            self._timing_sample = True
            self._sample_count = self._count
            self._attach_step_hooks()
            if self._line_map:
                self._previous_trace = sys.gettrace()
                self._tracing = True
                sys.settrace(self._on_trace_call)

    def _time_step(self) -> None:
        """Time the step that just ended (from its forward to this one) and, after a sampled
        step, space the samples so that their extra cost stays within the budget."""
        if self.time_budget is None:
            return
        now = time.perf_counter()
        started, self._step_started = self._step_started, now
        sampled, self._timing_sample = self._timing_sample, False
        if started is None:
            return
        took = now - started
        plain = self._plain_step_s
        if not sampled:
            self._plain_step_s = took if plain is None else 0.9 * plain + 0.1 * took
        elif plain is not None and plain > 0:
            extra = max(0.0, took - plain)
            needed = math.ceil(extra / (self.time_budget * plain))
            self.interval = min(MAX_INTERVAL, max(self.every, needed))

    def _on_model_forward(self, _module: nn.Module, _args: Any, _output: Any) -> None:
        self._stop_tracing()

    def _stop_tracing(self) -> None:
        if self._tracing:
            self._tracing = False
            sys.settrace(self._previous_trace)
            self._previous_trace = None

    def _on_trace_call(self, frame: Any, event: str, _arg: Any) -> Any:
        # Only the generated forward() is traced line by line; every other frame runs untraced.
        if event == "call" and frame.f_code is self._forward_code:
            self._last_line = 0
            return self._on_trace_line
        return None

    def _on_trace_line(self, frame: Any, event: str, _arg: Any) -> Any:
        if event in ("line", "return"):
            # A line event means the previous line has finished: its variable holds the output.
            done = self._line_map.get(self._last_line)
            if done is not None:
                self._record(done[0], frame.f_locals.get(done[1]))
            self._last_line = frame.f_lineno if event == "line" else 0
        return self._on_trace_line

    def _record(self, node_id: str, value: Any) -> None:
        if isinstance(value, tuple | list) and value:
            value = value[0]
        if (
            not isinstance(value, torch.Tensor)
            or not value.is_floating_point()
            or not value.numel()
        ):
            return
        x = value.detach().float()
        std = x.std(correction=0) if x.numel() > 1 else torch.zeros((), device=x.device)
        self._act[node_id] = torch.stack([x.mean(), std, (x == 0).float().mean()])
        if value.requires_grad:
            value.register_hook(self._grad_hook(node_id))

    def _grad_hook(self, node_id: str) -> Callable[[torch.Tensor], None]:
        def hook(grad: torch.Tensor) -> None:
            self._out_grad[node_id] = grad.detach().float().norm()

        return hook

    def _finish_sample(self) -> None:
        if not self._sampling:
            return
        self._sampling = False
        self._detach_step_hooks()
        self._ready = (self._sample_count, self._act, self._out_grad, self._param_grad)
        self._act, self._out_grad, self._param_grad = {}, {}, {}

    # -- reporting -------------------------------------------------------------------------------

    def on_event(self, event: Any) -> None:
        """Trainer callback: after each report (already synchronised) send the latest sample."""
        if not isinstance(
            event, StepEvent | EpochEvent | PausedEvent | FinishedEvent | FailedEvent
        ):
            return
        if isinstance(event, EpochEvent | PausedEvent):
            # Validation or a pause lies between this step and the next: not a step's time.
            self._step_started = None
            self._timing_sample = False
        self._finish_sample()
        if isinstance(event, FinishedEvent | FailedEvent):
            self._stop_tracing()
        if self._ready is None:
            return
        count, act, out_grad, param_grad = self._ready
        self._ready = None
        step = getattr(event, "step", None)
        step = count if step is None else max(0, step - (self._count - count))
        self._emit(self._build(step, getattr(event, "epoch", 0), act, out_grad, param_grad))

    def _build(
        self,
        step: int,
        epoch: int,
        act: dict[str, torch.Tensor],
        out_grad: dict[str, torch.Tensor],
        param_grad: dict[str, list[torch.Tensor]],
    ) -> HealthEvent:
        # One transfer for everything: stack on the device, then read back once.
        parts: list[torch.Tensor] = []
        layout: list[tuple[str, str]] = []
        for node_id, stats in act.items():
            parts.append(stats.reshape(-1))
            layout.append((node_id, "act"))
        for node_id, norm in out_grad.items():
            parts.append(norm.reshape(1))
            layout.append((node_id, "out"))
        for node_id, squares in param_grad.items():
            parts.append(torch.stack(squares).sum().sqrt().reshape(1))
            layout.append((node_id, "param"))
        values: dict[tuple[str, str], list[float]] = {}
        if parts:
            device = parts[0].device
            flat = torch.cat([p.to(device) for p in parts]).cpu().tolist()
            position = 0
            for key, part in zip(layout, parts, strict=True):
                values[key] = flat[position : position + part.numel()]
                position += part.numel()
        nodes = []
        for info in self._nodes.values():
            stats = values.get((info.node_id, "act"))
            mean, std, zeros = stats if stats else (None, None, None)
            grad = values.get((info.node_id, "param"), [None])[0]
            out = values.get((info.node_id, "out"), [None])[0]
            warnings = node_warnings(info.name, info.type_id, zeros, grad, mean)
            nodes.append(
                NodeHealth(
                    info.node_id, info.name, info.type_id, mean, std, zeros, grad, out, warnings
                )
            )
        return HealthEvent(step, epoch, tuple(nodes))
