"""The lectures' Keras encoder-decoder, drawn exactly: the double-softmax warning's fix lets it
learn binary to decimal, and its 24 scores for 12 symbols train (with a warning)."""

from __future__ import annotations

import pytest
import torch
from graph_models import keras_encoder_decoder

from dlstudio.analysis import analyze
from dlstudio.analysis.fixes import command_for_fix
from dlstudio.compile import compile_graph
from dlstudio.core.commands import UndoStack
from dlstudio.train import NoticeEvent, TrainConfig, Trainer, load_dataset

# With a softmax before cross-entropy the loss cannot go below log(1 + 23/e) for 24 scores
# (a one-hot probability vector, exponentiated again): 2.248.
DOUBLE_SOFTMAX_FLOOR = 2.248


@pytest.mark.slow
def test_fixed_keras_encoder_decoder_trains_on_binary_to_decimal() -> None:
    torch.set_num_threads(1)
    graph = keras_encoder_decoder(out_len=3, bits=8)
    [double] = [d for d in analyze(graph).diagnostics if "double softmax" in d.message]
    UndoStack(graph).push(command_for_fix(graph, double.node_id, double.fixes[0]))
    assert graph.node_by_name("softmax") is None
    compiled = compile_graph(graph)
    assert "F.dropout(x, p=0.2, training=self.training)" in compiled.source  # not dropped
    notices: list[str] = []
    config = TrainConfig(
        dataset="binary_to_decimal",
        task="sequence_classification",
        loss="cross_entropy",
        metric="exact_match",
        lr=0.01,
        epochs=8,
        batch_size=32,
        val_fraction=0.2,
        seed=0,
        device="cpu",
    )
    trainer = Trainer(
        compiled.module,
        config,
        callbacks=[lambda e: notices.append(e.message) if isinstance(e, NoticeEvent) else None],
        expected_output=compiled.output_specs[0],
    )
    result = trainer.run(load_dataset("binary_to_decimal", {"bits": 8}))
    assert result.status == "completed", result.message
    assert any("24 scores per prediction but binary_to_decimal has 12" in n for n in notices)
    assert result.best["loss"] < DOUBLE_SOFTMAX_FLOOR - 0.2
