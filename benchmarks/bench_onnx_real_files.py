"""Real exported ONNX files through the importer: every template, torchvision's resnet50,
mobilenet_v3_large, efficientnet_b0, densenet121 and vit_b_16 (random initialisation) and a
small BERT encoder (transformers, from a config), each written by both torch exporters
(TorchScript, ``dynamo=False``, and the default dynamo exporter) and imported with the check
against onnxruntime that the ``import`` command runs. Run on demand (minutes):

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_onnx_real_files.py [--only NAME] [--exporter E]

Prints one line per file: exact (imported, every output matches onnxruntime), refused (the
first reasons), or the export's own failure.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

from dlstudio.compile import compile_graph  # noqa: E402
from dlstudio.compile.example import make_inputs  # noqa: E402
from dlstudio.core import load_project  # noqa: E402


def _templates():
    for path in sorted((ROOT / "templates").glob("*.json")):
        if path.stem in ("vgg16",):  # 550 MB of weights; its layers are in the others
            continue
        yield path.stem, lambda p=path: _template(p)


def _template(path):
    torch.manual_seed(0)
    compiled = compile_graph(load_project(path))
    inputs = compiled.code.inputs
    example = make_inputs(inputs, 2, {s: 8 for d in inputs for s in d.symbols})
    lengths = [bool(d.symbols) for d in inputs]
    return compiled.module.eval(), example, compiled.input_names, lengths


def _torchvision(name: str, size: int, fill_zeros: bool = False):
    def build():
        from torchvision_shim import import_torchvision_models

        torch.manual_seed(0)
        model = getattr(import_torchvision_models(), name)().eval()
        if fill_zeros:
            # vit_b_16 starts with a zero head (and zero biases): every output would be 0 and
            # the check against onnxruntime would compare zeros
            with torch.no_grad():
                for parameter in model.parameters():
                    if not parameter.abs().sum():
                        parameter.normal_(0, 0.02)
        return model, (torch.randn(2, 3, size, size),), ["image"], [False]

    return build


def _bert():
    from torchvision_shim import import_torchvision_models

    import_torchvision_models()  # transformers imports torchvision when it is installed
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=100,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        max_position_embeddings=32,
    )

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = BertModel(config, add_pooling_layer=False).eval()

        def forward(self, input_ids):
            return self.bert(input_ids=input_ids).last_hidden_state

    return Encoder().eval(), (torch.randint(0, 100, (2, 8)),), ["input_ids"], [True]


MODELS = {
    **dict(_templates()),
    "resnet50": _torchvision("resnet50", 64),
    "mobilenet_v3_large": _torchvision("mobilenet_v3_large", 64),
    "efficientnet_b0": _torchvision("efficientnet_b0", 64),
    "densenet121": _torchvision("densenet121", 64),
    "vit_b_16": _torchvision("vit_b_16", 224, fill_zeros=True),
    "bert": _bert,
}


def export(model, example, names, lengths, path: Path, dynamo: bool) -> None:
    """Write ``model`` with a free batch axis (and a free length where ``lengths`` says)."""
    axes = {}
    for name, free in zip(names, lengths, strict=True):
        axes[name] = {0: "N"} | ({1: "T"} if free else {})
    kwargs = {"dynamo": dynamo, "input_names": list(names)}
    if dynamo:
        batch = torch.export.Dim("N", min=1, max=64)
        kwargs["dynamic_shapes"] = tuple({0: batch} for _ in example)
    else:
        kwargs["dynamic_axes"] = axes
    torch.onnx.export(model, tuple(example), str(path), **kwargs)


def main() -> int:
    """Export, import and check every model; print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="models whose name contains this")
    parser.add_argument("--exporter", choices=("torchscript", "dynamo"), action="append")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    from dlstudio.compile.importers.verify_onnx import import_verified

    exporters = args.exporter or ["torchscript", "dynamo"]
    exact = total = 0
    for name, build in MODELS.items():
        if args.only not in name:
            continue
        model, example, names, lengths = build()
        for exporter in exporters:
            total += 1
            start = time.perf_counter()
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / f"{name}.onnx"
                try:
                    export(model, example, names, lengths, path, exporter == "dynamo")
                except Exception as exc:
                    print(f"{name:22s} {exporter:11s} export failed: {str(exc)[:120]}")
                    continue
                try:
                    result, check = import_verified(path)
                except Exception as exc:
                    print(f"{name:22s} {exporter:11s} refused: {str(exc)[:200]}")
                    continue
            took = time.perf_counter() - start
            if result.ok and check.ok:
                exact += 1
                worst = max(o.difference for o in check.outputs)
                print(f"{name:22s} {exporter:11s} exact ({worst:.1e}, {took:.0f} s)", flush=True)
            elif not result.ok:
                lines = result.report_lines()
                why = "; ".join(line.split(" has no DL Studio layer")[0] for line in lines[:3])
                print(f"{name:22s} {exporter:11s} refused ({len(lines)}): {why[:220]}", flush=True)
            else:
                print(f"{name:22s} {exporter:11s} not verified: {' | '.join(check.lines())[:220]}")
    print(f"{exact} of {total} exact")
    return 0


if __name__ == "__main__":
    sys.exit(main())
