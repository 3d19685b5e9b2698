"""Plain-PyTorch reference models, one per template, written by hand from the papers.

They share no code with the templates or the compiler: a template is right when its parameter
count (and output shape) matches its reference. ``REFERENCES[name]()`` builds one.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class MLP(nn.Module):
    """784 -> 16 -> 16 -> 10."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 10)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class LeNet5(nn.Module):
    """LeNet-5 with padding 2 on conv1 for 28x28 inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(400, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class BasicBlock(nn.Module):
    """He et al.'s two-convolution residual block."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18 for ImageNet (224x224, 1000 classes)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 7, 2, 3, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.MaxPool2d(3, 2, 1),
        )
        blocks, cin = [], 64
        for i, cout in enumerate((64, 128, 256, 512)):
            blocks += [BasicBlock(cin, cout, 1 if i == 0 else 2), BasicBlock(cout, cout, 1)]
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(512, 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.blocks(self.stem(x)).mean(dim=(2, 3)))


class Bottleneck(nn.Module):
    """He et al.'s 1x1-3x3-1x1 residual block, stride on the 3x3 (ResNet v1.5), 4x expansion."""

    def __init__(self, cin: int, width: int, stride: int) -> None:
        super().__init__()
        cout = 4 * width
        self.body = nn.Sequential(
            nn.Conv2d(cin, width, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, stride, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class ResNet50(nn.Module):
    """ResNet-50 for ImageNet: stages of 3, 4, 6 and 3 Bottlenecks."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 7, 2, 3, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.MaxPool2d(3, 2, 1),
        )
        blocks, cin = [], 64
        for i, (count, width) in enumerate(((3, 64), (4, 128), (6, 256), (3, 512))):
            for k in range(count):
                blocks.append(Bottleneck(cin, width, 2 if k == 0 and i > 0 else 1))
                cin = 4 * width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(2048, 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.blocks(self.stem(x)).mean(dim=(2, 3)))


class VGG16(nn.Module):
    """VGG-16, configuration D of Simonyan and Zisserman: 13 convolutions, 3 Dense layers."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        config = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M")
        for item in (*config, 512, 512, 512, "M"):
            if item == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(cin, int(item), 3, padding=1), nn.ReLU()]
                cin = int(item)
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(),
            nn.Dropout(),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Dropout(),
            nn.Linear(4096, 1000),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 7)
        return self.classifier(x.flatten(1))


class ResNetSmall(nn.Module):
    """CIFAR-style ResNet: 3x3 stem, one block per stage (16, 32, 64), 28x28 grey input."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16))
        self.blocks = nn.Sequential(
            BasicBlock(16, 16, 1), BasicBlock(16, 32, 2), BasicBlock(32, 64, 2)
        )
        self.fc = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.blocks(torch.relu(self.stem(x)))
        return self.fc(y.mean(dim=(2, 3)))


def _encoder_layer(d: int, heads: int, ff: int, **kw: object) -> nn.TransformerEncoderLayer:
    return nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0, batch_first=True, **kw)


class ViTTiny(nn.Module):
    """7x7 patches of a 28x28 image, class token, learned positions, 2 pre-norm layers."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(1, 64, 7, stride=7)
        self.cls = nn.Parameter(torch.zeros(1, 1, 64))
        self.pos = nn.Parameter(torch.zeros(1, 17, 64))
        self.layers = nn.ModuleList(
            _encoder_layer(64, 4, 128, activation="gelu", norm_first=True) for _ in range(2)
        )
        self.norm = nn.LayerNorm(64)
        self.head = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patch(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls.expand(len(x), -1, -1), tokens], dim=1) + self.pos
        for layer in self.layers:
            tokens = layer(tokens)
        return self.head(self.norm(tokens)[:, 0])


class LSTMClassifier(nn.Module):
    """Embedding -> bidirectional LSTM -> both final states -> 2 classes."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(35, 32, padding_idx=0)
        self.lstm = nn.LSTM(32, 64, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(128, 2)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.lstm(self.embed(tokens))
        return self.fc(torch.cat([h[0], h[1]], dim=1))


class Seq2SeqLSTM(nn.Module):
    """Encoder LSTM's last state repeated 4 times into a decoder LSTM, scores per step."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(12, 16)
        self.encoder = nn.LSTM(16, 128, batch_first=True)
        self.decoder = nn.LSTM(128, 128, batch_first=True)
        self.fc = nn.Linear(128, 12)

    def forward(self, bits: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.encoder(self.embed(bits))
        steps, _ = self.decoder(h[-1].unsqueeze(1).repeat(1, 4, 1))
        return self.fc(steps)


class Seq2SeqState(nn.Module):
    """Encoder LSTM whose final (h, c) is the decoder LSTM's initial state; teacher forcing."""

    def __init__(self) -> None:
        super().__init__()
        self.src_embed = nn.Embedding(12, 32)
        self.encoder = nn.LSTM(32, 128, batch_first=True)
        self.tgt_embed = nn.Embedding(12, 32)
        self.decoder = nn.LSTM(32, 128, batch_first=True)
        self.fc = nn.Linear(128, 12)

    def forward(self, bits: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        _, state = self.encoder(self.src_embed(bits))
        steps, _ = self.decoder(self.tgt_embed(tgt_in), state)
        return self.fc(steps)


class GRUForecaster(nn.Module):
    """GRU over a (T, 1) window, last hidden state -> one value."""

    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(1, 32, batch_first=True)
        self.fc = nn.Linear(32, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h = self.gru(x)
        return self.fc(h[-1])


class Word2Vec(nn.Module):
    """Skip-gram: center id -> embedding -> scores over the vocabulary -> log-probabilities."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(73, 16)
        self.out = nn.Linear(16, 73)

    def forward(self, center: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(self.out(self.embed(center).flatten(1)), dim=-1)


class Transformer(nn.Module):
    """nn.Transformer(64, 4 heads, 2+2 layers, ff 128) with embeddings and a generator."""

    def __init__(self) -> None:
        super().__init__()
        self.src_embed = nn.Embedding(12, 64)
        self.tgt_embed = nn.Embedding(12, 64)
        self.core = nn.Transformer(64, 4, 2, 2, 128, dropout=0.0, batch_first=True)
        self.generator = nn.Linear(64, 12)

    def forward(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        positions = _sinusoids(max(src.shape[1], tgt.shape[1]), 64)
        mask = nn.Transformer.generate_square_subsequent_mask(tgt.shape[1])
        y = self.core(
            self.src_embed(src) + positions[: src.shape[1]],
            self.tgt_embed(tgt) + positions[: tgt.shape[1]],
            tgt_mask=mask,
        )
        return self.generator(y)


def _sinusoids(length: int, d: int) -> torch.Tensor:
    pos = torch.arange(length).unsqueeze(1)
    freq = torch.exp(torch.arange(0, d, 2) * (-torch.log(torch.tensor(10000.0)) / d))
    table = torch.zeros(length, d)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)
    return table


class TransformerClassifier(nn.Module):
    """BERT-style: embedding, [CLS], learned positions (64), 2 post-norm GELU layers, CLS head."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(35, 64, padding_idx=0)
        self.cls = nn.Parameter(torch.zeros(1, 1, 64))
        self.pos = nn.Parameter(torch.zeros(64, 64))
        self.layers = nn.ModuleList(_encoder_layer(64, 4, 128, activation="gelu") for _ in range(2))
        self.fc = nn.Linear(64, 2)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.cls.expand(len(tokens), -1, -1), self.embed(tokens)], dim=1)
        x = x + self.pos[: x.shape[1]]
        for layer in self.layers:
            x = layer(x)
        return self.fc(x[:, 0])


class GPTMini(nn.Module):
    """Decoder-only: embedding, learned positions (64), 2 causal pre-norm layers, LN, a head
    tied to the embedding (as GPT-2)."""

    def __init__(self, vocab: int = 43) -> None:  # the next_token data set's words
        super().__init__()
        self.embed = nn.Embedding(vocab, 64)
        self.pos = nn.Parameter(torch.zeros(64, 64))
        self.layers = nn.ModuleList(
            _encoder_layer(64, 4, 256, activation="gelu", norm_first=True) for _ in range(2)
        )
        self.norm = nn.LayerNorm(64)
        self.head = nn.Linear(64, vocab, bias=False)
        self.head.weight = self.embed.weight  # GPT-2's weight tying

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embed(tokens) + self.pos[: tokens.shape[1]]
        mask = nn.Transformer.generate_square_subsequent_mask(tokens.shape[1])
        for layer in self.layers:
            x = layer(x, src_mask=mask, is_causal=True)
        return self.head(self.norm(x))


REFERENCES: dict[str, Callable[[], nn.Module]] = {
    "mlp-mnist": MLP,
    "lenet5": LeNet5,
    "resnet18": ResNet18,
    "resnet50": ResNet50,
    "vgg16": VGG16,
    "resnet-cifar": ResNetSmall,
    "vit-tiny": ViTTiny,
    "lstm-classifier": LSTMClassifier,
    "seq2seq-lstm": Seq2SeqLSTM,
    "seq2seq-state": Seq2SeqState,
    "gru-forecaster": GRUForecaster,
    "word2vec": Word2Vec,
    "transformer": Transformer,
    "transformer-classifier": TransformerClassifier,
    "gpt-mini": GPTMini,
}
"""A reference builder for every template file."""

KNOWN_COUNTS = {
    "mlp-mnist": 13_002,
    "lenet5": 61_706,
    "resnet18": 11_689_512,
    "resnet50": 25_557_032,
    "vgg16": 138_357_544,
}
"""Counts published elsewhere (3Blue1Brown, LeCun et al., torchvision), as a second check."""


def count_params(module: nn.Module) -> int:
    """All parameters of a module."""
    return sum(p.numel() for p in module.parameters())
