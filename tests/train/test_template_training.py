"""End to end on the real templates: load the JSON, compile the graph, train with the template's
own data set and settings (the path the Train button and ``dlstudio train`` take), and reach the
accuracy the template promises. Epochs are only ever lowered where the target comes earlier."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from repo_paths import TEMPLATES_DIR

from dlstudio.compile import compile_graph
from dlstudio.layers.validation import load_checked
from dlstudio.train import EpochEvent, RunControl, make_trainer, resolve_run


def train_template(
    name: str, stop_when: Callable[[dict[str, float]], bool] | None = None, **overrides: object
) -> tuple[dict[str, float], object]:
    """Train a template with its shipped settings (plus overrides); the last validation
    metrics and the data set. With ``stop_when``, the run stops after the first epoch whose
    validation metrics satisfy it (the target is reached within the template's epochs)."""
    torch.manual_seed(0)
    graph = load_checked(TEMPLATES_DIR / f"{name}.json")
    config, dataset = resolve_run(graph.metadata["training"], **overrides)
    epochs: list[EpochEvent] = []
    control = RunControl()

    def on_event(event: object) -> None:
        if isinstance(event, EpochEvent):
            epochs.append(event)
            if stop_when is not None and stop_when(event.val):
                control.stop()

    trainer = make_trainer(compile_graph(graph), config, callbacks=[on_event], control=control)
    result = trainer.run(dataset)
    expected = "stopped" if control.stop_requested else "completed"
    assert result.status == expected, result.message
    return epochs[-1].val, dataset


def test_mlp_mnist_template_on_digits() -> None:
    val, _ = train_template("mlp-mnist")
    assert val["accuracy"] >= 0.90


@pytest.mark.slow
def test_lenet5_template_on_digits_28x28_within_10_epochs() -> None:
    graph = load_checked(TEMPLATES_DIR / "lenet5.json")
    assert graph.metadata["training"]["epochs"] <= 10
    assert graph.metadata["training"]["dataset_options"]["resize"] == 28
    val, _ = train_template("lenet5")
    assert val["accuracy"] >= 0.95


@pytest.mark.slow
@pytest.mark.timeout(600)  # 1-2.5 minutes on one thread, the suite's longest test
def test_seq2seq_lstm_template_on_binary_to_decimal() -> None:
    """The lecture's setup: numbers drawn at random, so validation numbers mostly also occur in
    training (the template's description says so, and how to hold numbers out instead). The
    target comes at about epoch 23 of 30; the run stops there."""
    val, dataset = train_template("seq2seq-lstm", lambda v: v["exact_match"] >= 0.90)
    assert dataset.input_specs[0].shape == (12,)
    assert val["exact_match"] >= 0.90


@pytest.mark.slow
def test_transformer_template_on_reverse() -> None:
    """The run stops at the first epoch that reaches the target (within the template's)."""
    val, _ = train_template("transformer", lambda v: v["token_accuracy"] >= 0.95)
    assert val["token_accuracy"] >= 0.95


def test_gru_forecaster_template_beats_repeating_the_last_value() -> None:
    """The run stops at the first epoch whose validation loss beats the naive forecast on the
    same held-out windows (the split the trainer makes)."""
    config, dataset = resolve_run(
        load_checked(TEMPLATES_DIR / "gru-forecaster.json").metadata["training"]
    )
    _, held_out = dataset.split(config.val_fraction, seed=config.seed)
    naive_mse = float(torch.mean((held_out.inputs[0][:, -1, :] - held_out.target) ** 2))
    val, _ = train_template("gru-forecaster", lambda v: v["loss"] < naive_mse)
    assert val["loss"] < naive_mse


def test_gpt_mini_template_learns_next_words_on_unseen_sentences() -> None:
    """The run stops at the first epoch that beats always guessing the most frequent word by
    15 points on the held-out sentences."""
    _, dataset = resolve_run(load_checked(TEMPLATES_DIR / "gpt-mini.json").metadata["training"])
    _, held_out = dataset.split(0.2, seed=0)
    most_frequent_share = float(torch.bincount(held_out.target.flatten()).max()) / (
        held_out.target.numel()
    )
    target = most_frequent_share + 0.15
    val, _ = train_template("gpt-mini", lambda v: v["token_accuracy"] > target)
    assert val["token_accuracy"] > target
