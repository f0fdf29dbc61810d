"""What is in the KV cache, as a list of units, and how much of it a new prompt can keep.

A unit is one text token or one whole image. Images are matched by content
hash, so a follow-up turn that repeats the same picture finds it already
evaluated. An image can only be kept or dropped whole.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


def _spelled(units: Sequence[Unit], piece: Callable[[int], bytes]) -> tuple[bytes, dict[int, int]]:
    """Bytes of the leading text tokens, and the unit index at each token boundary."""
    out = bytearray()
    boundaries = {0: 0}
    for index, unit in enumerate(units):
        if not isinstance(unit, int):
            break
        out += piece(unit)
        boundaries[len(out)] = index + 1
    return bytes(out), boundaries


def respelled_prefix(
    cached: Sequence[Unit], prompt: Sequence[Unit], piece: Callable[[int], bytes]
) -> tuple[int, int]:
    """After the identical units, how far both go on spelling the same text.

    A generated answer is rarely tokenized the way the same text is when the
    next prompt is built, so token matching stops at the start of the previous
    answer. The tokens the model itself produced spell that text, so they can
    stay in the cache: returns ``(cached_units, prompt_units)`` that spell the
    same bytes, at the longest boundary both share. One space at the junction
    may differ: templates put one between the role tag and the content
    ("ASSISTANT: ") that the model never generated, and the answer a user sees
    has its leading space trimmed. The prompt's last
    unit is never covered, so there is always something to evaluate.
    """
    start = reusable_prefix(cached, prompt)
    old_bytes, old_bounds = _spelled(cached[start:], piece)
    new_bytes, new_bounds = _spelled(prompt[start : len(prompt) - 1], piece)
    old_skip = int(old_bytes[:1] == b" " and new_bytes[:1] not in (b" ", b""))
    new_skip = int(new_bytes[:1] == b" " and old_bytes[:1] not in (b" ", b""))
    common = 0
    limit = min(len(old_bytes) - old_skip, len(new_bytes) - new_skip)
    while common < limit and old_bytes[common + old_skip] == new_bytes[common + new_skip]:
        common += 1
    shared = [
        b for b in range(1, common + 1) if b + old_skip in old_bounds and b + new_skip in new_bounds
    ]
    if not shared:
        return start, start
    best = max(shared)
    return start + old_bounds[best + old_skip], start + new_bounds[best + new_skip]
