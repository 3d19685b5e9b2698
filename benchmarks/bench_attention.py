"""Attention at long sequences: a generated causal language model against nn.TransformerEncoder.

    .venv/bin/python benchmarks/bench_attention.py [--device cpu|cuda] [--threads 1]
        [--lengths 64,256,1024,2048] [--steps 3] [--repeats 3]

Both models are the same causal pre-LN language model (token and learned position embeddings,
two pre-norm Transformer encoder layers with GELU, a final LayerNorm and a Dense head; d 128,
4 heads, feed-forward 512, batch 8, no dropout): one drawn as a graph and compiled by DL Studio,
one written by hand around ``nn.TransformerEncoder`` with ``is_causal=True``. For each length T
a training step (forward, cross-entropy, backward, AdamW) is timed, best of ``repeats`` rounds
of ``steps`` steps in rotating order (on a CPU by the process's CPU time, which a busy
neighbour does not inflate; ``--wall`` for wall time); its peak memory is the most tensor memory allocated during one
step beyond what existed before it (CPU: from the profiler's allocation events; CUDA:
``torch.cuda.max_memory_allocated``). Printed: both figures and the ratio ours / reference
(targets: time <= 1.05, memory <= 1.1).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.profiler import ProfilerActivity, profile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dlstudio.compile import compile_graph  # noqa: E402
from dlstudio.core import Edge, LayerGraph, LayerNode, PortRef  # noqa: E402

VOCAB, D_MODEL, HEADS, LAYERS, FEEDFORWARD, BATCH = 64, 128, 4, 2, 512, 8
MAX_LEN = 2048


def language_model_graph(max_len: int = MAX_LEN) -> LayerGraph:
    """The causal pre-LN language model as a DL Studio graph."""
    graph = LayerGraph("attention_bench")
    previous: str | None = None

    def add(type_id: str, name: str, **params) -> None:
        nonlocal previous
        node_id = graph.new_node_id()
        graph.insert_node(LayerNode(node_id, type_id, name, params))
        if previous is not None:
            graph.insert_edge(Edge(PortRef(previous, "out"), PortRef(node_id, "in")))
        previous = node_id

    add("input", "tokens", shape=("T",), dtype="int64", seq_len=64, vocab_size=VOCAB)
    add("embedding", "tok", num_embeddings=VOCAB, embedding_dim=D_MODEL)
    add("positional_encoding", "pos", mode="learned", max_len=max_len, dropout=0.0)
    for i in range(1, LAYERS + 1):
        add(
            "transformer_encoder_layer",
            f"block{i}",
            nhead=HEADS,
            dim_feedforward=FEEDFORWARD,
            dropout=0.0,
            activation="gelu",
            norm_first=True,
            causal=True,
        )
    add("layernorm", "norm")
    add("dense", "head", units=VOCAB)
    add("output", "logits")
    return graph


class ReferenceLM(nn.Module):
    """The same model written by hand with nn.TransformerEncoder."""

    def __init__(self, max_len: int = MAX_LEN) -> None:
        super().__init__()
        self.tok = nn.Embedding(VOCAB, D_MODEL)
        self.pos = nn.Embedding(max_len, D_MODEL)
        layer = nn.TransformerEncoderLayer(
            D_MODEL,
            HEADS,
            FEEDFORWARD,
            dropout=0.0,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.blocks = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(D_MODEL)
        self.head = nn.Linear(D_MODEL, VOCAB)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        steps = tokens.size(1)
        x = self.tok(tokens) + self.pos(torch.arange(steps, device=tokens.device))
        mask = nn.Transformer.generate_square_subsequent_mask(steps, device=tokens.device)
        x = self.blocks(x, mask=mask, is_causal=True)
        return self.head(self.norm(x))


def build(kind: str, device: torch.device) -> nn.Module:
    """``ours`` (compiled from the graph) or ``torch`` (hand-written), on ``device``."""
    torch.manual_seed(0)
    model = compile_graph(language_model_graph()).module if kind == "ours" else ReferenceLM()
    return model.to(device).train()


class Stepper:
    """One model, its optimizer and a fixed batch of length T: ``step()`` is one training step."""

    def __init__(self, model: nn.Module, steps: int, device: torch.device) -> None:
        self.model = model
        self.device = device
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        generator = torch.Generator().manual_seed(steps)
        self.tokens = torch.randint(0, VOCAB, (BATCH, steps + 1), generator=generator).to(device)

    def step(self) -> None:
        """Forward, loss, backward and optimizer step."""
        inputs, target = self.tokens[:, :-1], self.tokens[:, 1:]
        logits = self.model(inputs)
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), target.reshape(-1))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if self.device.type == "cuda":
            torch.cuda.synchronize()


def time_steps(
    steppers: dict[str, Stepper], steps: int, repeats: int, clock=time.perf_counter
) -> dict[str, float]:
    """Best mean seconds per step of each stepper, rotating which goes first."""
    for stepper in steppers.values():
        stepper.step()  # warm-up: allocator, kernels, optimizer state
    best = dict.fromkeys(steppers, float("inf"))
    order = list(steppers)
    for repeat in range(repeats):
        shift = repeat % len(order)
        for key in order[shift:] + order[:shift]:
            start = clock()
            for _ in range(steps):
                steppers[key].step()
            best[key] = min(best[key], (clock() - start) / steps)
    return best


def peak_step_memory(stepper: Stepper) -> int:
    """Peak bytes of tensors allocated during one training step, beyond what existed before it.

    CUDA: ``torch.cuda.max_memory_allocated``. CPU: the profiler's allocation events, summed in
    time order (the CPU allocator keeps no peak counter of its own).
    """
    stepper.step()  # the optimizer state exists from here on
    if stepper.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(stepper.device)
        base = torch.cuda.memory_allocated(stepper.device)
        stepper.step()
        return torch.cuda.max_memory_allocated(stepper.device) - base
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        stepper.step()
    events = prof.profiler.kineto_results.events()
    changes = sorted((e.start_ns(), e.nbytes()) for e in events if e.name() == "[memory]")
    current = peak = 0
    for _, nbytes in changes:
        current += nbytes
        peak = max(peak, current)
    return peak


def main() -> None:
    """Print the comparison table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--lengths", default="64,256,1024,2048")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--wall", action="store_true", help="time by the wall clock on a CPU")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    lengths = [int(t) for t in args.lengths.split(",")]
    # On a CPU shared with other jobs, wall time measures the neighbours as much as the model;
    # the process's CPU time (one thread) counts only its own work. --wall to see wall time.
    use_cpu_clock = device.type == "cpu" and not args.wall
    clock = time.process_time if use_cpu_clock else time.perf_counter
    ours, theirs = build("ours", device), build("torch", device)
    count = sum(p.numel() for p in ours.parameters())
    assert count == sum(p.numel() for p in theirs.parameters()), "the two models differ in size"
    print(
        f"causal pre-LN LM: d {D_MODEL}, {HEADS} heads, {LAYERS} layers, batch {BATCH}, "
        f"{count:,} parameters; device {device}, {torch.get_num_threads()} thread(s), "
        f"torch {torch.__version__}, load average {os.getloadavg()[0]:.1f}; "
        + ("process CPU time" if use_cpu_clock else "wall time")
    )
    print(
        f"{'T':>5} | {'ours ms':>9} {'torch ms':>9} {'time':>6} | "
        f"{'ours MiB':>9} {'torch MiB':>9} {'memory':>6}"
    )
    for steps in lengths:
        steppers = {
            "ours": Stepper(ours, steps, device),
            "torch": Stepper(theirs, steps, device),
        }
        best = time_steps(steppers, args.steps, args.repeats, clock)
        memory = {kind: peak_step_memory(stepper) for kind, stepper in steppers.items()}
        del steppers
        print(
            f"{steps:>5} | {best['ours'] * 1e3:>9.1f} {best['torch'] * 1e3:>9.1f} "
            f"{best['ours'] / best['torch']:>6.3f} | {memory['ours'] / 2**20:>9.1f} "
            f"{memory['torch'] / 2**20:>9.1f} {memory['ours'] / memory['torch']:>6.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
