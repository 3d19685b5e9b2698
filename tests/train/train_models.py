"""Hand-written modules equivalent to the templates, used until ``dlstudio.compile`` exists.

Every builder returns ``(module, expected_inputs)`` where ``expected_inputs`` lists each Input
node's (shape with "N", dtype), like ``CompiledModel.input_specs``. To rerun the tests through the
real templates, replace these builders with ones that load and compile the template graphs.
Attribute names are node names, as generated code would have them.
"""

from __future__ import annotations

import math

import torch
from torch import nn

Expected = list[tuple[tuple[object, ...], str]]


class MLP(nn.Module):
    """Template "mlp": 64 -> 128 -> 64 -> 10 with ReLU."""

    def __init__(self, in_features: int = 64, hidden: int = 64, classes: int = 10) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.relu1 = nn.ReLU()
        self.fc2 = nn.Linear(hidden, 64)
        self.relu2 = nn.ReLU()
        self.fc3 = nn.Linear(64, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu1(self.fc1(x))  # (N, 128)
        x = self.relu2(self.fc2(x))  # (N, 64)
        return self.fc3(x)  # (N, 10)


def mlp(in_features: int = 64, classes: int = 10) -> tuple[nn.Module, Expected]:
    """The MLP and its single flat Input."""
    return MLP(in_features, classes=classes), [(("N", in_features), "float32")]


class LeNet5(nn.Module):
    """Template "lenet5": conv 6@5x5 pad 2, pool, conv 16@5x5, pool, 400-120-84-10."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(400, 120)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(120, 84)
        self.relu4 = nn.ReLU()
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.relu1(self.conv1(x)))  # (N, 6, 14, 14)
        x = self.pool2(self.relu2(self.conv2(x)))  # (N, 16, 5, 5)
        x = self.flatten(x)  # (N, 400)
        x = self.relu3(self.fc1(x))  # (N, 120)
        x = self.relu4(self.fc2(x))  # (N, 84)
        return self.fc3(x)  # (N, 10)


def lenet5() -> tuple[nn.Module, Expected]:
    """LeNet-5 on 1x28x28 images."""
    return LeNet5(), [(("N", 1, 28, 28), "float32")]


class Seq2SeqLSTM(nn.Module):
    """Template "seq2seq-lstm": embed, LSTM encoder, repeat the state T_out times, LSTM decoder."""

    def __init__(self, vocab: int, out_len: int, embed: int = 32, hidden: int = 64) -> None:
        super().__init__()
        self.out_len = out_len
        self.embed = nn.Embedding(vocab, embed)
        self.encoder = nn.LSTM(embed, hidden, batch_first=True)
        self.decoder = nn.LSTM(hidden, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, src: torch.Tensor) -> torch.Tensor:
        x = self.embed(src)  # (N, S, 32)
        _, (h, _c) = self.encoder(x)  # h: (1, N, 128)
        x = h[-1].unsqueeze(1).repeat(1, self.out_len, 1)  # (N, T_out, 128)
        x, _ = self.decoder(x)  # (N, T_out, 128)
        return self.head(x)  # (N, T_out, vocab)


def seq2seq_lstm(vocab: int, src_len: int, out_len: int) -> tuple[nn.Module, Expected]:
    """The LSTM encoder-decoder for binary -> decimal."""
    return Seq2SeqLSTM(vocab, out_len), [(("N", src_len), "int64")]


class TinyTransformer(nn.Module):
    """Template "transformer-copy": encoder-decoder with learned positions, causal decoder mask."""

    def __init__(self, vocab: int, max_len: int = 64, d_model: int = 64, heads: int = 4) -> None:
        super().__init__()
        self.src_embed = nn.Embedding(vocab, d_model)
        self.tgt_embed = nn.Embedding(vocab, d_model)
        self.pos = nn.Parameter(torch.randn(max_len, d_model) / math.sqrt(d_model))
        self.transformer = nn.Transformer(
            d_model,
            heads,
            num_encoder_layers=2,
            num_decoder_layers=2,
            dim_feedforward=128,
            dropout=0.0,
            batch_first=True,
        )
        self.head = nn.Linear(d_model, vocab)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        s = self.src_embed(src) + self.pos[: src.shape[1]]  # (N, S, 64)
        t = self.tgt_embed(tgt_in) + self.pos[: tgt_in.shape[1]]  # (N, T, 64)
        mask = nn.Transformer.generate_square_subsequent_mask(tgt_in.shape[1], device=src.device)
        x = self.transformer(s, t, tgt_mask=mask, tgt_is_causal=True)  # (N, T, 64)
        return self.head(x)  # (N, T, vocab)


def tiny_transformer(vocab: int) -> tuple[nn.Module, Expected]:
    """The small transformer for copy / reverse (inputs src and tgt_in)."""
    return TinyTransformer(vocab), [(("N", "S"), "int64"), (("N", "T"), "int64")]


class GRUForecaster(nn.Module):
    """Template "gru-forecast": GRU over the window, linear head on the last step."""

    def __init__(self, hidden: int = 32, horizon: int = 1) -> None:
        super().__init__()
        self.gru = nn.GRU(1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, horizon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, _ = self.gru(x)  # (N, T, 32)
        return self.head(x[:, -1])  # (N, horizon)


def gru_forecaster(window: int, horizon: int = 1) -> tuple[nn.Module, Expected]:
    """The GRU forecaster on (window, 1) inputs."""
    return GRUForecaster(horizon=horizon), [(("N", window, 1), "float32")]
