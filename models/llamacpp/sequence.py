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
    """How far the cache and the new prompt go on meaning the same thing.

    A generated answer is rarely tokenized the way the same text is when the
    next prompt is built, so token matching stops at the start of the previous
    answer. The tokens the model itself produced spell that text, so they can
    stay in the cache: returns ``(cached_units, prompt_units)`` that spell the
    same bytes, at the longest boundary both share. Where a whole text run
    spells the same on both sides and both go on with the same image (a
    picture added after an answer), matching resumes after it, so a
    conversation with images in several turns keeps all of them. One space at
    each junction may differ: templates put one between the role tag and the
    content ("ASSISTANT: ") that the model never generated, and the answer a
    user sees has its leading space trimmed. The prompt's last unit is never
    covered, so there is always something to evaluate.
    """
    limit = len(prompt) - 1
    old_at = new_at = 0
    while True:
        same = reusable_prefix(cached[old_at:], prompt[new_at : limit + 1])
        old_at, new_at = old_at + same, new_at + same
        old_bytes, old_bounds = _spelled(cached[old_at:], piece)
        new_bytes, new_bounds = _spelled(prompt[new_at:limit], piece)
        old_skip = int(old_bytes[:1] == b" " and new_bytes[:1] not in (b" ", b""))
        new_skip = int(new_bytes[:1] == b" " and old_bytes[:1] not in (b" ", b""))
        common = 0
        end = min(len(old_bytes) - old_skip, len(new_bytes) - new_skip)
        while common < end and old_bytes[common + old_skip] == new_bytes[common + new_skip]:
            common += 1
        old_run, new_run = old_bounds[len(old_bytes)], new_bounds[len(new_bytes)]
        whole = common + old_skip == len(old_bytes) and common + new_skip == len(new_bytes)
        next_old = cached[old_at + old_run] if old_at + old_run < len(cached) else None
        next_new = prompt[new_at + new_run] if new_at + new_run < limit else None
        if whole and common and isinstance(next_old, ImageUnit) and next_old == next_new:
            old_at, new_at = old_at + old_run, new_at + new_run
            continue
        shared = [
            b
            for b in range(1, common + 1)
            if b + old_skip in old_bounds and b + new_skip in new_bounds
        ]
        if not shared:
            return old_at, new_at
        best = max(shared)
        return old_at + old_bounds[best + old_skip], new_at + new_bounds[best + new_skip]
