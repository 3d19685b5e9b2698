"""The loss ignores padded targets: a per-step output carrying an Input's padding mask has its
targets at padded steps skipped, whatever class they were written as."""

from __future__ import annotations

import torch
from graph_builders import ChainBuilder

from dlstudio.compile import compile_graph
from dlstudio.train import TrainConfig, load_dataset
from dlstudio.train.objectives import ignore_padded_targets
from dlstudio.train.session import make_trainer, target_padding


def test_padded_steps_become_ignore_index() -> None:
    tokens = torch.tensor([[5, 6, 0, 0], [7, 0, 0, 0]])
    target = torch.tensor([[1, 2, 0, 0], [3, 0, 0, 0]])
    masked = ignore_padded_targets(target, (tokens,), (0, 0))
    assert masked.tolist() == [[1, 2, -100, -100], [3, -100, -100, -100]]
    assert ignore_padded_targets(target, (tokens,), None) is target
    labels = torch.tensor([1, 0])  # one label per sequence: nothing to mask
    assert ignore_padded_targets(labels, (tokens,), (0, 0)) is labels


def _tagger(padding: int | None):
    b = ChainBuilder("tagger")
    b.chain(
        ("input", "tokens", {"shape": [12], "dtype": "int64", "padding_id": padding}),
        ("embedding", "emb", {"num_embeddings": 64, "embedding_dim": 8}),
        ("gru", "gru", {"hidden_size": 8, "return_sequences": True}),
        ("dense", "tags", {"units": 6}),
        ("output", "out", {}),
    )
    return compile_graph(b.graph)


def test_training_skips_padded_targets_written_as_a_class() -> None:
    torch.set_num_threads(1)
    data = load_dataset("tagging", {"n_samples": 128})
    assert target_padding(_tagger(0)) == (0, 0)
    assert target_padding(_tagger(None)) is None
    tokens, ignored = data.data.inputs[0], data.data.target
    as_class = ignored.masked_fill(tokens == 0, 2)  # padding written as tag 2, not ignored
    config = TrainConfig(epochs=1, seed=0, device="cpu", batch_size=32)

    def history(target: torch.Tensor, padding: int | None):
        data.data.target = target
        torch.manual_seed(0)
        result = make_trainer(_tagger(padding), config).run(data)
        assert result.status == "completed", result.message
        return [(e.train["loss"], e.val["loss"], e.val["token_accuracy"]) for e in result.history]

    reference = history(ignored, None)
    assert history(as_class, 0) == reference
    assert history(as_class, None) != reference  # without the padding id they count
