"""Short texts drawn on nodes: key parameters ("6@5x5 p2") and parameter counts ("156 params")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dlstudio.layers import LayerType


def _size(value: Any) -> str:
    """``(5, 5)`` -> ``5x5``; a single value as it is."""
    if isinstance(value, (tuple, list)):
        return "x".join(str(v) for v in value)
    return str(value)


def _scalar(value: Any) -> int | None:
    """The single number a square size stands for (``(2, 2)`` -> 2), or None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, (tuple, list)) and value and len(set(value)) == 1:
        first = value[0]
        return first if isinstance(first, int) else None
    return None


def _window(params: Mapping[str, Any], default_stride: Any = None) -> list[str]:
    """`` s2 p1`` style suffixes, leaving out the values that change nothing."""
    parts: list[str] = []
    stride = params.get("stride", default_stride)
    if stride is not None and _scalar(stride) != 1:
        parts.append(f"s{_scalar(stride) if _scalar(stride) is not None else _size(stride)}")
    padding = params.get("padding", 0)
    if isinstance(padding, str):
        parts.append(padding)
    elif _scalar(padding) != 0:
        parts.append(f"p{_scalar(padding) if _scalar(padding) is not None else _size(padding)}")
    return parts


def key_params_text(layer: LayerType, params: Mapping[str, Any]) -> str:
    """The node's key parameters in a compact form: ``6@5x5 p2``, ``120 units``, ``1x28x28``."""
    tid = layer.id
    get = params.get
    if tid in ("conv1d", "conv2d", "conv_transpose2d"):
        head = f"{get('out_channels')}@{_size(get('kernel_size'))}"
        extra = _window(params)
        if _scalar(get("groups", 1)) not in (1, None):
            extra.append(f"g{get('groups')}")
        return " ".join([head, *extra])
    if tid in ("maxpool1d", "maxpool2d", "avgpool1d", "avgpool2d"):
        kernel = get("kernel_size")
        stride = get("stride") if get("stride") is not None else kernel
        return " ".join([_size(kernel), *_window({**params, "stride": stride})])
    if tid == "input":
        text = _size(tuple(get("shape", ())))
        dtype = get("dtype", "float32")
        return text if dtype == "float32" else f"{text} {dtype}"
    if tid == "dense":
        return f"{get('units')} units"
    if tid in ("lstm", "gru", "rnn"):
        text = f"{get('hidden_size')} hidden"
        if get("num_layers", 1) not in (1, None):
            text += f" x{get('num_layers')}"
        if get("bidirectional"):
            text += " bi"
        return text
    if tid == "dropout":
        return f"p={get('p')}"
    if tid == "adaptive_avgpool2d":
        return f"to {_size(get('output_size'))}"
    if tid == "embedding":
        return f"{get('num_embeddings')} -> {get('embedding_dim')}"
    if tid in ("reshape",):
        return _size(tuple(get("shape", ())))
    if tid == "repeat_vector":
        return f"x{get('times')}"
    if tid in ("transformer_encoder_layer", "transformer_decoder_layer"):
        # Short enough for the node beside the long type name: heads, feed-forward width.
        text = f"h{get('nhead')} ff{get('dim_feedforward')}"
        return text + (" causal" if get("causal") else "")
    if tid == "multihead_attention":
        return f"h{get('num_heads')}" + (" causal" if get("causal") else "")
    if tid == "positional_encoding":
        return str(get("mode"))
    if layer.category == "Blocks":
        return block_key_text(layer, params)
    parts = []
    for name in layer.key_params:
        value = get(name)
        if value is None:
            continue
        shown = _size(value) if isinstance(value, (tuple, list)) else str(value)
        parts.append(f"{name.replace('_', ' ')} {shown}")
    return ", ".join(parts)


_BLOCK_SHORT = {
    "channels": "{}ch",
    "out_channels": "{}ch",
    "width": "w{}",
    "d_model": "d{}",
    "embed_dim": "d{}",
    "nhead": "h{}",
    "num_heads": "h{}",
    "dim_feedforward": "ff{}",
    "patch_size": "p{}",
    "stride": "s{}",
    "units": "{} units",
}
"""Compact forms of common block parameters (``128ch s2``, ``d512 h8 ff2048``)."""


def block_key_text(layer: LayerType, params: Mapping[str, Any]) -> str:
    """A block instance's most telling parameters, compactly: what it makes (channels, width,
    heads), its stride when not 1, and the true switches (``downsample``). Input sizes
    (``in_channels``: the wire's shape says them) and rates (dropout) are left out."""
    parts = []
    for spec in layer.params:
        name, value = spec.name, params.get(spec.name)
        if name in ("block", "repeat", "weights"):  # said by the label, the badge, the file
            continue
        if value is None or name.startswith("in_") or isinstance(value, float):
            continue
        if isinstance(value, bool):
            if value:
                parts.append(name.replace("_", " "))
            continue
        if name == "stride" and value == 1:
            continue
        shown = _size(value) if isinstance(value, (tuple, list)) else str(value)
        parts.append(_BLOCK_SHORT.get(name, name.replace("_", " ") + " {}").format(shown))
    return " ".join(parts)


def count_text(count: int | None) -> str:
    """``156 params``, ``11.2M params``; empty when unknown or zero (activations, pooling)."""
    if not count:
        return ""
    if count < 10_000:
        return f"{count:,} params"
    if count < 1_000_000:
        return f"{count / 1000:.1f}k params"
    return f"{count / 1_000_000:.2f}M params"


def name_lines(name: str) -> list[list[str]]:
    """Ways to show a node name on one or two lines, best first: the name whole, then split
    at the separator nearest its middle (``layer2_0_downsample_0`` -> ``layer2_0_`` /
    ``downsample_0``). A name without separators is split only as a last resort."""
    options = [[name]]
    cuts = [i + 1 for i, ch in enumerate(name[:-1]) if ch in "_.-/ "]
    cuts += [i for i in range(1, len(name)) if name[i].isupper() and name[i - 1].islower()]
    if cuts:
        # Near the middle, preferring a cut before a word over one before a digit.
        cut = min(cuts, key=lambda i: abs(len(name) / 2 - i) + (2.5 if name[i].isdigit() else 0))
        options.append([name[:cut].rstrip(" "), name[cut:].lstrip(" ")])
    elif len(name) >= 12:
        half = (len(name) + 1) // 2
        options.append([name[:half], name[half:]])
    return options
