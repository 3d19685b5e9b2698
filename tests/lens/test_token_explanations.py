"""Explanations of token models, checked against what the model computes."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from graph_builders import ChainBuilder
from repo_paths import TEMPLATES_DIR

from dlstudio.compile import compile_graph
from dlstudio.core import load_project
from dlstudio.lens.examples import text_example
from dlstudio.lens.explain import attention_rollout, gradient_x_input, saliency


def test_gradient_x_input_of_a_bag_of_embeddings_is_each_tokens_own_score() -> None:
    """score = w . mean_t e_t, so token t contributes exactly w . e_t / T."""
    b = ChainBuilder("bag")
    b.chain(
        ("input", "tokens", {"shape": (6,), "dtype": "int64", "vocab_size": 20}),
        ("embedding", "embed", {"num_embeddings": 20, "embedding_dim": 4}),
        ("mean_over_time", "mean", {}),
        ("dense", "fc", {"units": 2}),
        ("output", "logits", {}),
    )
    torch.manual_seed(0)
    compiled = compile_graph(b.graph)
    ids = torch.tensor([[3, 7, 7, 1, 12, 5]])
    result = gradient_x_input(compiled, (ids,), target=1)
    module = compiled.module
    embed = next(m for m in module.modules() if isinstance(m, torch.nn.Embedding))
    fc = next(m for m in module.modules() if isinstance(m, torch.nn.Linear))
    own = (embed.weight[ids[0]] @ fc.weight[1]).detach().abs().numpy() / 6
    np.testing.assert_allclose(result.heat, own / own.max(), rtol=1e-5)
    assert result.heat[1] == pytest.approx(result.heat[2])  # the same token, the same share
    assert saliency(compiled, (ids,), target=1).heat.shape == (6,)


def test_rollout_gives_one_share_per_token_of_a_transformer() -> None:
    graph = load_project(TEMPLATES_DIR / "transformer-classifier.json")
    torch.manual_seed(0)
    compiled = compile_graph(graph)
    vocab = ["<pad>", "<unk>", "the", "plot", "was", "dull", "but", "music", "great"]
    lesson = SimpleNamespace(vocab=vocab + [f"w{i}" for i in range(26)], options={"seq_len": 16})
    example = text_example("the plot was dull but the music was great", compiled, lesson)
    result = attention_rollout(graph, compiled, example.inputs)
    assert result.heat.shape == (16,)  # padded to the data set's length, as training reads it
    assert result.heat.max() == pytest.approx(1.0) and (result.heat >= 0).all()
    assert example.tokens[:3] == ("the", "plot", "was")
