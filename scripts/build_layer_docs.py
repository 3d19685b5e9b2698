"""Write docs/layers.md from the layer catalogue (run after adding or changing a layer).

    .venv/bin/python scripts/build_layer_docs.py

A test checks that the committed file matches the catalogue.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dlstudio.layers import CATEGORY_ORDER, all_layer_types  # noqa: E402

TARGET = ROOT / "docs" / "layers.md"


def _default(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def render() -> str:
    """The Markdown reference of every layer type."""
    lines = [
        "# Layer reference",
        "",
        "Generated from the layer catalogue by `scripts/build_layer_docs.py`; do not edit by "
        "hand. The same text is the help shown in the editor's palette and properties panel.",
        "",
        "**How MACs are counted.** The summary's MACs are multiply-accumulates for one example "
        "(batch 1): one MAC per multiply-add, biases free, and FLOPs about 2 x MACs "
        "(`summary --flops` prints both; `summary --json` has `macs` and `flops`). Every "
        "sequence length is at the model's Input example length, inside blocks too: a block's "
        "own Input example length only sizes a symbol the caller does not set, so a "
        "transformer block costs more at a longer sequence. For reference, ResNet-50 counts "
        "4.11 G MACs against the published 4.09 G, because BatchNorm, residual adds and "
        "pooling are counted. A Dense or a "
        "convolution counts one MAC per weight use (in x out per position; biases are free); "
        "attention counts its four projections plus one MAC per query-key pair and feature "
        "for the scores and again for the weighted sum; a recurrent layer counts its gate "
        "matrix products at every step; Add and Multiply count one per element per extra "
        "input, LayerNorm and BatchNorm one per element, a positional encoding one per "
        "element added; pooling and averaging count one per value read (not strictly MACs, "
        "so they are not free); activations, softmax, dropout and reshaping count none. A composite layer counts what the same layer drawn "
        "from its parts counts: a TransformerEncoderLayer equals MultiheadAttention + Add + "
        "LayerNorm + Dense + activation + Dense + Add + LayerNorm.",
        "",
        "**Padding masks.** An int64 Input of token ids may name its `padding_id` (the id that "
        "fills each sequence after its end, usually 0). Its padding mask then travels with the "
        "sequence through the layers that work step by step and keep the time axis at axis 1: "
        "Embedding, Dense, activations, Dropout, LayerNorm, PositionalEncoding, Add, Multiply, "
        "Concat, attention, the Transformer layers and recurrent layers with return_sequences. "
        "Any other layer (Flatten, Permute, convolutions, pooling, ClassToken, SelectStep, a block "
        "instance) "
        "ends it. Where it arrives: MultiheadAttention hides padded keys, the Transformer "
        "layers do the same for their input (and the decoder for its memory), each combined "
        "with a mask wired in by hand as PyTorch combines key_padding_mask and attn_mask (a "
        "step is attended only when both allow it); MeanOverTime averages the real steps only "
        "and SelectStep 'last' picks the last real step; "
        "RNN, LSTM and GRU pack the sequences (pack_padded_sequence), so the last step and the "
        "state are the last real step's, also backwards; a loss on one prediction per step "
        "ignores the padded targets. The generated forward() computes the mask once "
        "(`tokens_mask = tokens != 0`, True at real steps) and passes it to those layers; ONNX "
        "export keeps it (the TorchScript exporter; the dynamo exporter cannot trace packed "
        "sequences). A block's forward() takes tensors only, so a mask stops at a block "
        "instance, with a warning when the block holds a layer that would use it.",
        "",
    ]
    types = all_layer_types()
    for category in CATEGORY_ORDER:
        members = [t for t in types if t.category == category]
        if not members:
            continue
        lines += [f"## {category}", ""]
        for layer in members:
            ports_in = (
                ", ".join(
                    p.name + (" (optional)" if p.optional else "")
                    for p in layer.input_ports(layer.defaults())
                )
                or "none"
            )
            optional = dict(layer.optional_outputs)
            ports_out = (
                ", ".join(
                    p.name + (f" (with {optional[p.name]} on)" if p.name in optional else "")
                    for p in layer.outputs
                )
                or "none"
            )
            lines += [
                f"### {layer.label} (`{layer.id}`)",
                "",
                layer.summary,
                "",
                layer.explanation,
                "",
                f"Formula: `{layer.formula}`",
                "",
                f"Inputs: {ports_in}. Outputs: {ports_out}."
                + (
                    f" Inferred from the input: {', '.join(layer.inferred)}."
                    if layer.inferred
                    else ""
                ),
                "",
            ]
            if layer.params:
                lines += ["| parameter | default | meaning |", "| --- | --- | --- |"]
                for spec in layer.params:
                    lines.append(
                        f"| `{spec.name}` | {_default(spec.default)} | "
                        f"{spec.help.replace('|', '/')} |"
                    )
                lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    """Regenerate the file."""
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
