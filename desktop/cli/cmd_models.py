"""``sightline models``: the models Sightline can use, and whether each can see."""

from __future__ import annotations

import argparse
import json
import sys

from desktop.model_choice import installed_models
from desktop.settings import load_settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("models", help="list and manage models")
    ms = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    q = ms.add_parser("list", help="installed models, with vision yes/no")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=run_list)


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def run_list(args: argparse.Namespace) -> int:
    entries = installed_models(
        load_settings(), on_problem=lambda m: print(f"sightline: skipped {m}", file=sys.stderr)
    )
    if args.json:
        print(json.dumps([e.to_json() for e in entries], indent=2))
        return 0
    if not entries:
        print("no models installed — see `sightline models recommend` and `sightline models pull`")
        return 0
    width = max(len(e.qualified_name) for e in entries)
    for e in entries:
        vision = "vision" if e.vision else "text only"
        mark = " (default)" if e.default else ""
        print(f"{e.qualified_name:<{width}}  {vision:<9}  {_size(e.size_bytes):>8}{mark}")
    return 0
