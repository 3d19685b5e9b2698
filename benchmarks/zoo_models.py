"""The Hugging Face and torch.nn models of the import zoo (bench_import_zoo.py), built from
configs with random weights: nothing is downloaded."""

from __future__ import annotations

import torch
from torch import nn

from dlstudio.compile.importers import InputSpec

SMALL = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 64,
    "vocab_size": 100,
    "max_position_embeddings": 64,
}


def hf_model(key: str) -> tuple[nn.Module, list[InputSpec]]:
    """``small:BertModel`` or ``base:GPT2LMHeadModel``: the model and its input."""
    import transformers

    size, _, name = key.partition(":")
    cls = getattr(transformers, name)
    config_cls = cls.config_class
    small = dict(SMALL)
    if name.startswith("GPT2"):
        small = {"n_embd": 32, "n_layer": 2, "n_head": 4, "vocab_size": 100, "n_positions": 64}
    if name.startswith("DistilBert"):
        small = {"dim": 32, "n_layers": 2, "n_heads": 4, "hidden_dim": 64, "vocab_size": 100}
        small["max_position_embeddings"] = 64
    if name.startswith("ViT"):
        small = {
            k: v for k, v in small.items() if k not in ("vocab_size", "max_position_embeddings")
        }
        small.update(image_size=32, patch_size=8, num_labels=10)
    config = config_cls(**small) if size == "small" else config_cls()
    if hasattr(config, "use_cache"):
        config.use_cache = False  # as the hf: import does: no key/value cache in the outputs
    model = cls(config)
    if name.startswith("ViT"):
        side = config.image_size
        return model, [InputSpec((3, side, side), name="pixel_values")]
    from dlstudio.compile.importers.hf_source import model_inputs

    # As the hf: import gives them: input_ids, then attention_mask and token_type_ids where
    # forward() takes them next (BERT, DistilBERT, RoBERTa), checked with padding.
    return model, model_inputs(model.eval(), 16)


class LSTMEncoderDecoder(nn.Module):
    """An LSTM encoder whose final (h, c) starts the decoder, as in sequence to sequence."""

    def __init__(self) -> None:
        super().__init__()
        self.src_embed = nn.Embedding(20, 16)
        self.tgt_embed = nn.Embedding(20, 16)
        self.encoder = nn.LSTM(16, 32, batch_first=True)
        self.decoder = nn.LSTM(16, 32, batch_first=True)
        self.head = nn.Linear(32, 20)

    def forward(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        _, (h, c) = self.encoder(self.src_embed(src))
        out, _ = self.decoder(self.tgt_embed(tgt), (h, c))
        return self.head(out)


def torch_model(name: str) -> tuple[nn.Module, list[InputSpec]]:
    """``Transformer``, ``TransformerEncoder`` or ``LSTMEncoderDecoder``, small, batch first."""
    if name == "Transformer":
        model = nn.Transformer(32, 4, 2, 2, 64, dropout=0.0, batch_first=True)
        return model, [InputSpec(("S", 32), seq_len=12), InputSpec(("T", 32), seq_len=8)]
    if name == "TransformerEncoder":
        layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)
        return nn.TransformerEncoder(layer, 2), [InputSpec(("T", 32), seq_len=12)]
    src = InputSpec(("S",), "int64", 10, 20)
    return LSTMEncoderDecoder(), [src, InputSpec(("T",), "int64", 6, 20)]
