"""Published Transformer models drawn as graphs (no torch): GPT-2 small and BERT-base."""

from __future__ import annotations

from graph_builders import ChainBuilder

from dlstudio.core import LayerGraph


def gpt2(
    vocab: int = 50257, positions: int = 1024, layers: int = 12, d_model: int = 768
) -> LayerGraph:
    """GPT-2 (small by default): token and learned position embeddings, pre-LN causal blocks
    with GELU's tanh approximation, a final LayerNorm and a head tied to the token table."""
    b = ChainBuilder("gpt2")
    blocks = [
        (
            "transformer_encoder_layer",
            f"h{i}",
            {
                "nhead": max(1, d_model // 64),
                "dim_feedforward": 4 * d_model,
                "dropout": 0.0,
                "activation": "gelu_tanh",
                "norm_first": True,
                "causal": True,
            },
        )
        for i in range(layers)
    ]
    b.chain(
        ("input", "tokens", {"shape": ("T",), "dtype": "int64", "vocab_size": vocab, "seq_len": 8}),
        ("embedding", "wte", {"num_embeddings": vocab, "embedding_dim": d_model}),
        ("positional_encoding", "wpe", {"mode": "learned", "max_len": positions, "dropout": 0.0}),
        *blocks,
        ("layernorm", "ln_f", {}),
        ("dense", "lm_head", {"units": vocab, "bias": False, "tie_weight": "wte"}),
        ("output", "logits", {}),
    )
    return b.graph


def bert(
    vocab: int = 30522, positions: int = 512, layers: int = 12, d_model: int = 768
) -> LayerGraph:
    """BERT (base by default) with its pooler: word + position + token-type embeddings, a
    LayerNorm (eps 1e-12), post-LN GELU encoder blocks that take the attention mask, and the
    pooler (Dense + tanh on the [CLS] step)."""
    b = ChainBuilder("bert")
    ids = b.add("input", "input_ids", shape=("T",), dtype="int64", vocab_size=vocab, seq_len=8)
    types = b.add("input", "token_type_ids", shape=("T",), dtype="int64", vocab_size=2, seq_len=8)
    mask = b.add("input", "attention_mask", shape=("T",), dtype="int64", vocab_size=2, seq_len=8)
    words = b.add("embedding", "word_embeddings", num_embeddings=vocab, embedding_dim=d_model)
    segments = b.add("embedding", "token_type_embeddings", num_embeddings=2, embedding_dim=d_model)
    b.wire(ids, words)
    b.wire(types, segments)
    add = b.add("add", "embeddings_sum")
    b.wire(words, add, dst_port="in1")
    b.wire(segments, add, dst_port="in2")
    x = b.add("positional_encoding", "position_embeddings", mode="learned", max_len=positions)
    b.wire(add, x)
    for name, type_id, params in (
        ("embeddings_norm", "layernorm", {"eps": 1e-12}),
        ("embeddings_dropout", "dropout", {"p": 0.1}),
    ):
        y = b.add(type_id, name, **params)
        b.wire(x, y)
        x = y
    for i in range(layers):
        y = b.add(
            "transformer_encoder_layer",
            f"layer{i}",
            nhead=max(1, d_model // 64),
            dim_feedforward=4 * d_model,
            activation="gelu",
            layer_norm_eps=1e-12,
        )
        b.wire(x, y)
        b.wire(mask, y, dst_port="mask")
        x = y
    for name, type_id, params in (
        ("cls", "select_step", {"which": "first"}),
        ("pooler", "dense", {"units": d_model}),
        ("pooler_tanh", "tanh", {}),
        ("pooled", "output", {}),
    ):
        y = b.add(type_id, name, **params)
        b.wire(x, y)
        x = y
    return b.graph


def keras_encoder_decoder(symbols: int = 12, out_len: int = 4, bits: int = 12) -> LayerGraph:
    """The lectures' Keras model drawn exactly: Embedding 64 -> LSTM 64 -> RepeatVector ->
    LSTM 32 (dropout 0.2) -> Dense(2 x symbols) with softmax."""
    b = ChainBuilder("keras_seq2seq")
    b.chain(
        ("input", "bits", {"shape": (bits,), "dtype": "int64", "vocab_size": symbols}),
        ("embedding", "embed", {"num_embeddings": symbols, "embedding_dim": 64}),
        ("lstm", "encoder", {"hidden_size": 64}),
        ("repeat_vector", "repeat", {"times": out_len}),
        ("lstm", "decoder", {"hidden_size": 32, "return_sequences": True, "dropout": 0.2}),
        ("dense", "dense", {"units": 2 * symbols}),
        ("softmax", "softmax", {}),
        ("output", "digits", {}),
    )
    b.graph.metadata["training"] = {
        "dataset": "binary_to_decimal",
        "dataset_options": {"bits": bits},
        "task": "sequence_classification",
        "loss": "cross_entropy",
        "metric": "exact_match",
    }
    return b.graph
