"""``cache clear``: forget every cached answer."""

from __future__ import annotations

import argparse
import sys

from desktop.response_cache import ResponseCache, cache_file


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("cache", help="the cache of answers to repeated questions")
    cache = p.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    c = cache.add_parser("clear", help="forget every cached answer")
    c.set_defaults(func=run_clear)


def run_clear(args: argparse.Namespace) -> int:
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
