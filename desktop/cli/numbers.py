"""Every number the command line takes, checked in one place against its allowed range.

``type=int`` alone lets ``--max-tokens -5`` through (an empty answer, exit 0)
and an id of twenty digits reach SQLite as an overflow; each flag names its
range here instead, and argparse turns a bad value into exit 2 with that
range in the message.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

SQLITE_MAX_INT = (1 << 63) - 1


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An argparse ``type`` accepting whole numbers from ``low`` to ``high``."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not allowed: give a whole number from {low:,} to {high:,}"
            )
        return value

    parse.__name__ = "number"  # argparse names the type in its fallback message
    return parse


MAX_TOKENS = bounded_int(1, 131_072)
LIST_LIMIT = bounded_int(1, 1_000_000)
CONVERSATION_ID = bounded_int(1, SQLITE_MAX_INT)
