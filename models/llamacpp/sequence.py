"""What is in the KV cache, as a list of units, and how much of it a new prompt can keep.

A unit is one text token or one whole image. Images are matched by content
hash, so a follow-up turn that repeats the same picture finds it already
evaluated. An image can only be kept or dropped whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ImageUnit:
    digest: str
    n_tokens: int
    n_pos: int


Unit = int | ImageUnit
"""A text token id, or an image."""


def n_positions(units: Sequence[Unit]) -> int:
    return sum(1 if isinstance(u, int) else u.n_pos for u in units)


def n_tokens(units: Sequence[Unit]) -> int:
    return sum(1 if isinstance(u, int) else u.n_tokens for u in units)


def reusable_prefix(cached: Sequence[Unit], prompt: Sequence[Unit]) -> int:
    """How many leading units of ``prompt`` can stay in the cache.

    At least the last unit is always evaluated again, because sampling needs
    the logits of the prompt's final position.
    """
    limit = min(len(cached), len(prompt) - 1)
    k = 0
    while k < limit and cached[k] == prompt[k]:
        k += 1
    return max(k, 0)
