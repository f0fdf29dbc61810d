"""``cache clear``: forget every cached answer and every saved conversation state."""

from __future__ import annotations

import argparse
import sys

from desktop.paths import app_paths
from desktop.response_cache import ResponseCache, cache_file
from models.llamacpp.kv_states import clear_folder


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("cache", help="the cache of answers to repeated questions")
    cache = p.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    c = cache.add_parser("clear", help="forget every cached answer and saved conversation state")
    c.set_defaults(func=run_clear)


def run_clear(args: argparse.Namespace) -> int:
    freed = clear_folder(app_paths().states_dir)
    if freed:
        print(
            f"sightline: removed {freed / 1e6:.1f} MB of saved conversation states",
            file=sys.stderr,
        )
    if not cache_file().exists():
        print("sightline: the answer cache is already empty", file=sys.stderr)
        return 0
    cache = ResponseCache()
    try:
        count = cache.clear()
    finally:
        cache.close()
    noun = "answer" if count == 1 else "answers"
    print(f"sightline: cleared {count} cached {noun}", file=sys.stderr)
    return 0
