"""LSTM against a simple RNN on a long-range task, at the training defaults.

    .venv/bin/python benchmarks/bench_long_range.py [--seq-len 40] [--epochs 8] [--threads 1]
        [--min-len 20] [--forget-bias 1.0] [--seed 0]

The ``first_token`` data set: sequences of 20 to 40 tokens, padded to 40, labelled by their
first token, so the answer lies 20 to 40 steps before the last real step. The same drawing
(tokens with padding id 0 -> Embedding 16 -> recurrent layer, hidden 32, last real step ->
Dense 2) is trained with the RNN and with the LSTM by DL Studio's Trainer at its default
settings (Adam, lr 1e-3, batch 64, 20% validation) for the same epochs and seed. The padding
mask packs the sequences, so neither model steps through padding; the LSTM's forget bias
starts at 1 (Keras's default, which the lectures use). Printed: the best validation accuracy
of each and the margin. Chance is 50%. docs/templates.md records the figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dlstudio.compile import compile_graph
from dlstudio.core import Edge, LayerGraph, LayerNode, PortRef
from dlstudio.train import TrainConfig, Trainer, load_dataset


def recurrent_classifier(
    kind: str, seq_len: int, vocab: int, forget_bias: float = 1.0
) -> LayerGraph:
    """Tokens with padding id 0 -> Embedding 16 -> ``kind`` (hidden 32, last real step) ->
    Dense 2; the LSTM's forget bias starts at ``forget_bias`` (1: Keras's default)."""
    graph = LayerGraph(f"{kind}_first_token")
    previous = None
    tokens = {"shape": (seq_len,), "dtype": "int64", "vocab_size": vocab, "padding_id": 0}
    recurrent = {"hidden_size": 32, **({"forget_bias": forget_bias} if kind == "lstm" else {})}
    for type_id, name, params in (
        ("input", "tokens", tokens),
        ("embedding", "embed", {"num_embeddings": vocab, "embedding_dim": 16}),
        (kind, kind, recurrent),
        ("dense", "fc", {"units": 2}),
        ("output", "scores", {}),
    ):
        node_id = graph.new_node_id()
        graph.insert_node(LayerNode(node_id, type_id, name, params))
        if previous is not None:
            graph.insert_edge(Edge(PortRef(previous, "out"), PortRef(node_id, "in")))
        previous = node_id
    return graph


def accuracy(
    kind: str,
    seq_len: int,
    epochs: int,
    seed: int = 0,
    n_samples: int = 8000,
    min_len: int | None = None,
    forget_bias: float = 1.0,
) -> tuple[float, float, list[float]]:
    """Best validation accuracy of ``kind`` on first_token, the seconds it took, and the
    validation accuracy after each epoch."""
    options = {"seq_len": seq_len, "n_samples": n_samples}
    if min_len is not None:
        options["min_len"] = min_len
    dataset = load_dataset("first_token", options)
    torch.manual_seed(seed)
    graph = recurrent_classifier(kind, seq_len, dataset.vocab_size or 0, forget_bias)
    compiled = compile_graph(graph)
    config = TrainConfig(dataset="first_token", epochs=epochs, seed=seed, device="cpu")
    start = time.perf_counter()
    result = Trainer(compiled.module, config, expected_output=compiled.output_specs[0]).run(dataset)
    if result.status != "completed":
        raise SystemExit(f"{kind} failed: {result.message}")
    curve = [e.val["accuracy"] for e in result.history]
    return max(curve), time.perf_counter() - start, curve


def main() -> None:
    """Print both accuracies."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seq-len", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-len", type=int, default=None, help="default: seq-len / 2")
    parser.add_argument("--forget-bias", type=float, default=1.0, help="the LSTM's; 0: PyTorch's")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    found = {}
    for kind in ("rnn", "lstm"):
        acc, seconds, curve = accuracy(
            kind,
            args.seq_len,
            args.epochs,
            args.seed,
            min_len=args.min_len,
            forget_bias=args.forget_bias,
        )
        found[kind] = acc
        print(
            f"{kind:>4}: best validation accuracy {acc:.1%} after {args.epochs} epochs "
            f"({seconds:.0f} s); by epoch: {' '.join(f'{a:.0%}' for a in curve)}"
        )
    print(f"LSTM - RNN: {100 * (found['lstm'] - found['rnn']):+.1f} points (chance is 50%)")


if __name__ == "__main__":
    main()
