"""``python -m dlstudio train`` and ``datasets``: argparse glue over :mod:`dlstudio.train`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dlstudio.core.errors import DLStudioError
from dlstudio.train.cli_train import add_train_parser, compile_project, run_train
from dlstudio.train.data import download_cifar, download_mnist, list_datasets

__all__ = [
    "add_datasets_parser",
    "add_train_parser",
    "compile_project",
    "run_datasets",
    "run_train",
]


def add_datasets_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``datasets [--download mnist|fashion_mnist|cifar10|cifar100]``."""
    parser = subparsers.add_parser(
        "datasets", help="list built-in data sets", description="List or download data sets."
    )
    parser.add_argument("--download", choices=["mnist", "fashion_mnist", "cifar10", "cifar100"])
    parser.set_defaults(handler=run_datasets)
    return parser


def run_datasets(args: argparse.Namespace) -> int:
    """Print the built-ins (name, description, options), or download one with a progress line."""
    if getattr(args, "download", None):

        def progress(name: str, done: int, total: int) -> None:
            share = f" {100 * done / total:.0f}%" if total else ""
            print(f"\r{name}: {done / 1e6:.1f} MB{share}", end="", file=sys.stderr)

        try:
            if args.download.startswith("cifar"):
                folder = download_cifar(args.download, progress=progress).parent
            else:
                folder = download_mnist(fashion=args.download == "fashion_mnist", progress=progress)
        except DLStudioError as exc:
            print(f"\nerror: {exc}", file=sys.stderr)
            return 1
        print(f"\n{args.download} is in {folder}", file=sys.stderr)
        return 0
    infos = list_datasets()
    width = max(len(i.name) for i in infos)
    for info in infos:
        options = f"  (options: {info.options})" if info.options else ""
        print(f"{info.name:<{width}}  {info.description}{options}")
    return 0
