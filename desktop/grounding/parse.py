"""Reading boxes and points out of an answer, in the shapes models actually write.

Shapes understood: a JSON list (or one object) with ``bbox_2d`` / ``bbox`` /
``box`` / ``box_2d`` or ``point_2d`` / ``point``, inside a code fence or
not; ``x_min``.. keys; ``<ref>label</ref><box>(x0,y0),(x1,y1)</box>`` and
``<point>(x,y)</point>``; PaliGemma's ``<locNNNN>`` tokens. Numbers are
returned as written; ``mapping`` turns them into pixels. Anything that is
not clearly a box or point is skipped: nothing is ever guessed.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from desktop.grounding.conventions import System

_BOX_KEYS = ("bbox_2d", "bbox", "box_2d", "box")
_POINT_KEYS = ("point_2d", "point")
_LABEL_KEYS = ("label", "name", "object", "category")
_NUM = r"-?\d+(?:\.\d+)?"
_TAG = re.compile(
    r"(?:<ref>(?P<label>[^<]*)</ref>\s*)?<(?P<tag>box|point)>(?P<body>.*?)</(?P=tag)>", re.S
)
_LOC4 = re.compile(r"((?:<loc\d{4}>){4})\s*(?P<label>[^;<\n]*)")
_LOC2 = re.compile(r"((?:<loc\d{4}>){2})\s*(?P<label>[^;<\n]*)")
_LOC = re.compile(r"<loc(\d{4})>")
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


@dataclass(frozen=True, slots=True)
class Found:
    """One box (four numbers) or point (two), as the model wrote them.

    ``system`` is set when the shape itself fixes the units (``<loc>`` tokens
    are always PaliGemma bins, y first); otherwise the family's convention
    applies.
    """

    label: str
    numbers: tuple[float, ...]
    system: System | None = None
    y_first: bool | None = None

    @property
    def is_box(self) -> bool:
        return len(self.numbers) == 4


def _numbers(value: Any, count: int) -> tuple[float, ...] | None:
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
        value = value[0]  # [[x0, y0, x1, y1]]
    if not isinstance(value, list) or len(value) != count:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return None
    nums = tuple(float(v) for v in value)
    return nums if all(math.isfinite(n) for n in nums) else None


def _label(obj: dict[str, Any]) -> str:
    for key in _LABEL_KEYS:
        if isinstance(obj.get(key), str):
            return str(obj[key]).strip()
    return ""


def _from_object(obj: dict[str, Any]) -> Found | None:
    label = _label(obj)
    for key in _BOX_KEYS:
        nums = _numbers(obj.get(key), 4)
        if nums:
            return Found(label, nums)
    for key in _POINT_KEYS:
        nums = _numbers(obj.get(key), 2)
        if nums:
            return Found(label, nums)
    corners = [obj.get(k) for k in ("x_min", "y_min", "x_max", "y_max")]
    nums = _numbers(corners, 4)
    if nums:
        return Found(label, nums)
    nums = _numbers([obj.get("x"), obj.get("y")], 2)
    return Found(label, nums) if nums else None


def _from_json(value: Any) -> list[Found]:
    if isinstance(value, dict):
        one = _from_object(value)
        if one:
            return [one]
        # {"objects": [...]} and the like: one level of wrapping.
        return [f for v in value.values() if isinstance(v, list) for f in _from_json(v)]
    if isinstance(value, list):
        bare = _numbers(value, 4) or _numbers(value, 2)
        if bare:
            return [Found("", bare)]
        found: list[Found] = []
        for item in value:
            if isinstance(item, dict):
                one = _from_object(item)
                if one:
                    found.append(one)
            elif isinstance(item, list):
                nums = _numbers(item, 4) or _numbers(item, 2)
                if nums:
                    found.append(Found("", nums))
        return found
    return []


def _json_values(text: str) -> list[Any]:
    """Every top-level JSON value in ``text``: fenced blocks first, then bare ones."""
    sources = [m.group(1) for m in _FENCE.finditer(text)] or [text]
    decoder = json.JSONDecoder()
    values: list[Any] = []
    for source in sources:
        i = 0
        while i < len(source):
            if source[i] in "[{":
                try:
                    value, end = decoder.raw_decode(source, i)
                except json.JSONDecodeError:
                    i += 1
                    continue
                values.append(value)
                i = end
            else:
                i += 1
    return values


def _from_tags(text: str) -> list[Found]:
    found: list[Found] = []
    for m in _TAG.finditer(text):
        nums = tuple(float(n) for n in re.findall(_NUM, m.group("body")))
        want = 4 if m.group("tag") == "box" else 2
        if len(nums) == want:
            found.append(Found((m.group("label") or "").strip(), nums))
    return found


def _from_locs(text: str) -> list[Found]:
    found: list[Found] = []
    taken: list[tuple[int, int]] = []
    for m in _LOC4.finditer(text):
        nums = tuple(float(n) for n in _LOC.findall(m.group(1)))
        found.append(Found(m.group("label").strip(), nums, system="loc", y_first=True))
        taken.append(m.span(1))
    for m in _LOC2.finditer(text):
        start = m.start(1)
        if any(a <= start < b for a, b in taken):
            continue
        nums = tuple(float(n) for n in _LOC.findall(m.group(1)))
        found.append(Found(m.group("label").strip(), nums, system="loc", y_first=True))
    return found


def parse_answer(text: str) -> list[Found]:
    """Every box and point in ``text``, in the order written; ``[]`` when there is none."""
    if "<loc" in text:
        found = _from_locs(text)
        if found:
            return found
    if "<box>" in text or "<point>" in text:
        found = _from_tags(text)
        if found:
            return found
    return [f for value in _json_values(text) for f in _from_json(value)]
