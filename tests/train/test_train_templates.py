"""End to end: the template models (hand-written stand-ins, see train_models.py) reach their
targets on CPU with small sizes. Swap the builders in train_models.py to run the real templates."""

from __future__ import annotations

import pytest
import torch
from train_models import gru_forecaster, lenet5, mlp, seq2seq_lstm, tiny_transformer

from dlstudio.train import EpochEvent, Event, TrainConfig, Trainer, load_dataset


def _train(
    build: tuple[torch.nn.Module, list], dataset_name: str, options: dict, **settings: object
):
    model, expected = build
    dataset = load_dataset(dataset_name, options)
    config = TrainConfig(dataset=dataset_name, task=dataset.task, loss=dataset.loss, **settings)  # type: ignore[arg-type]
    epochs: list[EpochEvent] = []

    def keep(event: Event) -> None:
        if isinstance(event, EpochEvent):
            epochs.append(event)

    result = Trainer(model, config, [keep], expected_inputs=expected).run(dataset)
    assert result.status == "completed", result.message
    return epochs[-1].val, dataset


def test_mlp_on_digits() -> None:
    torch.manual_seed(0)
    val, _ = _train(mlp(64), "digits", {"flatten": True}, epochs=10, batch_size=32)
    assert val["accuracy"] >= 0.90


@pytest.mark.slow
def test_lenet5_on_digits_resized_to_28() -> None:
    torch.manual_seed(0)
    val, _ = _train(lenet5(), "digits", {"resize": 28}, epochs=6, batch_size=32)
    assert val["accuracy"] >= 0.95


@pytest.mark.slow
def test_lstm_encoder_decoder_on_binary_to_decimal() -> None:
    """8-bit numbers drawn with repetition: validation numbers are mostly ones seen in training,
    so this checks that the encoder-decoder learns the mapping, not that it generalises to new
    numbers (that needs far more training than a unit test affords)."""
    torch.manual_seed(0)
    dataset = load_dataset("binary_to_decimal", {"bits": 8, "n_samples": 3000})
    build = seq2seq_lstm(dataset.vocab_size or 0, src_len=8, out_len=3)
    val, _ = _train(
        build,
        "binary_to_decimal",
        {"bits": 8, "n_samples": 3000},
        metric="exact_match",
        epochs=14,
        batch_size=64,
        lr=0.02,
    )
    assert val["exact_match"] >= 0.90


@pytest.mark.slow
def test_small_transformer_on_reverse() -> None:
    torch.manual_seed(0)
    options = {"seq_len": 6, "n_samples": 2400}
    dataset = load_dataset("reverse", options)
    val, _ = _train(
        tiny_transformer(dataset.vocab_size or 0),
        "reverse",
        options,
        metric="token_accuracy",
        epochs=5,
        batch_size=64,
        warmup_steps=20,
    )
    assert val["token_accuracy"] >= 0.95


def test_gru_forecaster_beats_repeating_the_last_value() -> None:
    torch.manual_seed(0)
    val, dataset = _train(
        gru_forecaster(20), "sine", {"window": 20}, metric="mae", epochs=4, batch_size=32, lr=0.01
    )
    _, held_out = dataset.split(0.2, seed=0)
    assert held_out is not None
    naive = float(torch.mean((held_out.inputs[0][:, -1, :] - held_out.target) ** 2))
    assert val["loss"] < 0.6 * naive
