"""Importing real models, each proved against its source: run on demand (heavy: minutes each).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_import_zoo.py > zoo.txt
    .venv/bin/python benchmarks/bench_import_zoo.py --only torchvision:resnet18
    .venv/bin/python benchmarks/bench_import_zoo.py --family timm --only torchvision:maxvit_t

Every model is built with random weights (seeded; nothing is downloaded) and imported in a child
process of its own (a time limit each, and a crash stays contained). A model is

- **exact** when the import exits 0: every operation became a layer and the compiled project
  matched the source at two batch sizes (and two lengths) within 1e-4 of each output's scale;
- **wrong with exit 0** when it exits 0 but an independent check disagrees: the project file and
  its weights are read back from disk, compiled, and run against the source on inputs of a seed
  the import never saw (this must stay 0);
- **refused** otherwise (exit 1 or 2), with the reason.

torchvision's set is every classification model it lists (``list_models``) that builds in under
a minute here (:data:`BUILD_LIMIT_S`); a slower one is reported as left out and not counted.

Import time is the import itself (capture, walk, hierarchy), against one ``torch.export`` call on
the same input; verification is timed apart.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUILD_LIMIT_S = 60.0
"""A model that takes longer to build (random initialisation, one thread) is left out."""


def torchvision_models() -> list[str]:
    """Every classification model torchvision lists (80 in 0.28)."""
    from dlstudio.compile.importers.loader import prepare_torchvision

    prepare_torchvision()
    import torchvision.models as models

    return list(models.list_models(module=models))


TIMM = [
    "resnet18d",
    "resnest14d",
    "cspresnet50",
    "dla34",
    "dpn68",
    "densenet121",
    "efficientnet_b0",
    "tf_efficientnet_lite0",
    "mobilenetv3_small_100",
    "mixnet_s",
    "ghostnet_100",
    "rexnet_100",
    "regnetx_002",
    "repvgg_a0",
    "convnext_atto",
    "poolformer_s12",
    "vit_tiny_patch16_224",
    "deit_tiny_patch16_224",
    "swin_tiny_patch4_window7_224",
    "levit_128s",
]
HF = [
    f"{size}:{name}"
    for size in ("small", "base")
    for name in (
        "BertModel",
        "BertForSequenceClassification",
        "DistilBertForSequenceClassification",
        "RobertaModel",
        "GPT2LMHeadModel",
        "ViTForImageClassification",
    )
]
TORCH = ["Transformer", "TransformerEncoder", "LSTMEncoderDecoder"]


def all_models() -> list[str]:
    """Every model of the zoo as ``family:name``."""
    return (
        [f"torchvision:{n}" for n in torchvision_models()]
        + [f"hf:{n}" for n in HF]
        + [f"timm:{n}" for n in TIMM]
        + [f"torch:{n}" for n in TORCH]
    )


# ----------------------------------------------------------------- one model (child process)
def build(key: str):
    """(model, input specs) for ``family:name``, random weights, seeded."""
    import torch

    from dlstudio.compile.importers import InputSpec
    from dlstudio.compile.importers.loader import prepare_torchvision

    torch.manual_seed(0)
    family, _, name = key.partition(":")
    image = [InputSpec((3, 224, 224))]
    if family == "torchvision":
        prepare_torchvision()
        import torchvision.models as models

        kwargs = {"aux_logits": True, "init_weights": True} if name == "inception_v3" else {}
        model = getattr(models, name)(**kwargs)
        return model, [InputSpec((3, 299, 299))] if name == "inception_v3" else image
    if family == "timm":
        prepare_torchvision()
        import timm

        model = timm.create_model(name, pretrained=False)
        size = model.default_cfg.get("input_size", (3, 224, 224))
        return model, [InputSpec(tuple(size))]
    if family == "hf":
        prepare_torchvision()
        from zoo_models import hf_model

        return hf_model(name)
    from zoo_models import torch_model

    return torch_model(name)


def run_one(key: str) -> dict:
    """Import one model and check it; the figures as a dict."""
    import torch

    torch.set_num_threads(1)
    from dlstudio.compile.importers import import_module
    from dlstudio.compile.importers.fx_trace import example_inputs
    from dlstudio.compile.importers.verify_torch import verify_import

    row: dict = {"model": key}
    start = time.perf_counter()
    try:
        model, specs = build(key)
    except Exception as exc:
        row.update(status="not built", reason=f"{type(exc).__name__}: {exc}"[:200])
        return row
    row["build_s"] = time.perf_counter() - start
    if row["build_s"] > BUILD_LIMIT_S:
        row.update(status="left out", reason=f"builds in {row['build_s']:.0f} s, over a minute")
        return row
    model.eval()
    row["params"] = sum(p.numel() for p in model.parameters())
    examples = example_inputs(model, specs)
    try:
        with torch.no_grad():  # once to warm up (the import's own capture runs warm too)
            torch.export.export(model, tuple(examples), strict=False)
            start = time.perf_counter()
            torch.export.export(model, tuple(examples), strict=False)
        row["export_s"] = time.perf_counter() - start
    except Exception as exc:
        row["export_s"] = None
        row["export_error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    start = time.perf_counter()
    try:
        result = import_module(model, specs, name=key.split(":")[-1])
    except Exception as exc:
        row.update(status="refused", reason=f"{type(exc).__name__}: {exc}"[:300])
        return row
    row["import_s"] = time.perf_counter() - start
    start = time.perf_counter()
    check = verify_import(model, result, specs)
    row["verify_s"] = time.perf_counter() - start
    if not result.ok:
        ops = sorted({issue.op for issue in result.issues})
        row.update(status="refused", reason=f"placeholders: {', '.join(ops)}"[:300])
        return row
    if not check.ok:
        reason = check.error or "; ".join(o.line() for o in check.outputs if not o.ok)
        if check.first_departure:
            reason += f" (first departure {check.first_departure})"
        row.update(status="refused", reason=reason[:300])
        return row
    row["difference"] = max(o.difference / o.scale if o.scale else 0 for o in check.outputs)
    row["status"] = "exact" if independent_check(model, result, specs) else "WRONG"
    return row


def independent_check(model, result, specs) -> bool:
    """The written project, read back and compiled, against the source on unseen inputs."""
    import numpy as np
    import torch

    from dlstudio.compile import compile_graph
    from dlstudio.compile.importers.project import write_import
    from dlstudio.compile.importers.verify import difference, example_sets
    from dlstudio.compile.importers.verify_torch import flat_tensors
    from dlstudio.compile.project_weights import load_attached_weights
    from dlstudio.core import load_project

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.json"
        write_import(result, path)
        graph = load_project(path)
        compiled = compile_graph(graph)
        report = load_attached_weights(compiled.module, graph, path)
        if report is None or not report.ok:
            return False
    (inputs,) = example_sets(specs, batches=(2,), seed=12345)
    tensors = [torch.from_numpy(a) for a in inputs.arrays]
    with torch.no_grad():
        want = flat_tensors(model(*tensors))
        got = flat_tensors(compiled.module.eval()(*tensors))
    if len(want) != len(got):
        return False
    for w, g in zip(want, got, strict=True):
        diff, scale = difference(np.asarray(w), np.asarray(g))
        if diff > 1e-4 * scale:
            return False
    return True


# ------------------------------------------------------------------------------- the table
def main() -> int:
    """Run every model (or ``--only`` some) in a child process each; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="family:name (repeatable)")
    parser.add_argument("--family", action="append", help="torchvision, hf, timm or torch")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per model")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return 0
    keys = list(args.only or [])
    if args.family or not keys:
        keys += [k for k in all_models() if not args.family or k.split(":")[0] in args.family]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT / "benchmarks"))
    rows = []
    print(f"import zoo, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", flush=True)
    for key in keys:
        try:
            done = subprocess.run(
                [sys.executable, __file__, "--one", key],
                capture_output=True,
                text=True,
                timeout=args.timeout,
                env=env,
                cwd=ROOT,
            )
            lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
            row = (
                json.loads(lines[-1])
                if lines
                else {
                    "model": key,
                    "status": "crashed",
                    "reason": (done.stderr.strip().splitlines() or ["no output"])[-1][:200],
                }
            )
        except subprocess.TimeoutExpired:
            row = {"model": key, "status": "timeout", "reason": f"over {args.timeout} s"}
        rows.append(row)
        print(line(row), flush=True)
    print()
    print(summary(rows))
    return 0


def line(row: dict) -> str:
    """One table row in Markdown."""
    times = ""
    if row.get("import_s") is not None:
        export = f"{row['export_s']:.1f}" if row.get("export_s") else "-"
        times = f"{row['import_s']:.1f} | {export} | {row.get('verify_s', 0):.1f}"
    else:
        times = " |  | "
    diff = f"{row['difference']:.1e}" if "difference" in row else ""
    reason = row.get("reason", "").replace("|", "/")
    return f"| {row['model']} | {row['status']} | {diff} | {times} | {reason} |"


def summary(rows: list[dict]) -> str:
    """Counts per family: exact / wrong with exit 0 / refused (of the models built)."""
    out = [
        "| family | models | exact | wrong with exit 0 | refused |",
        "| --- | --- | --- | --- | --- |",
    ]
    families: dict[str, list[dict]] = {}
    for row in rows:
        families.setdefault(row["model"].split(":")[0], []).append(row)
    for family, items in families.items():
        items = [r for r in items if r["status"] != "left out"]
        exact = sum(r["status"] == "exact" for r in items)
        wrong = sum(r["status"] == "WRONG" for r in items)
        out.append(
            f"| {family} | {len(items)} | {exact} | {wrong} | {len(items) - exact - wrong} |"
        )
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
