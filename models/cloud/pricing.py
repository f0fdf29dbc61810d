"""What a cloud turn cost, from ``resources/prices.toml``.

The provider's own token counts are the truth; image token rules only fill
in when a stream broke before the counts arrived. A dated snapshot name
(``claude-sonnet-4-5-20250929``) is priced as its family (longest matching
name in the table).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from models.backend import Usage

DEFAULT_CONTEXT = 128_000


@dataclass(frozen=True, slots=True)
class Price:
    input: float
    cached_input: float
    output: float
    image_rule: dict[str, Any]
    context_length: int


@cache
def _table() -> dict[str, Any]:
    text = resources.files("resources").joinpath("prices.toml").read_text("utf-8")
    return tomllib.loads(text)


def price_for(model: str) -> Price | None:
    """The price of ``provider:model``, or ``None`` when the table does not know it."""
    table = _table()
    models: dict[str, Any] = table["models"]
    names = [n for n in models if model == n or model.startswith(n + "-")]
    if not names:
        return None
    raw = models[max(names, key=len)]
    return Price(
        input=float(raw["input"]),
        cached_input=float(raw.get("cached_input", raw["input"])),
        output=float(raw["output"]),
        image_rule=table["image_rules"][raw["image_rule"]],
        context_length=int(raw.get("context_length", DEFAULT_CONTEXT)),
    )


def priced_models() -> list[str]:
    """Every ``provider:model`` the price table knows, in table order."""
    return list(_table()["models"])


def context_length(model: str) -> int:
    price = price_for(model)
    return price.context_length if price else DEFAULT_CONTEXT


def _fit(width: int, height: int, side: int) -> tuple[float, float]:
    scale = min(1.0, side / max(width, height))
    return width * scale, height * scale


def image_tokens(rule: dict[str, Any], width: int, height: int) -> int:
    kind = rule["kind"]
    if kind == "tiles":
        w, h = _fit(width, height, rule["fit"])
        short = rule["short_side"]
        if min(w, h) > short:
            scale = short / min(w, h)
            w, h = w * scale, h * scale
        tiles = math.ceil(w / rule["tile"]) * math.ceil(h / rule["tile"])
        return int(rule["base"] + rule["per_tile"] * tiles)
    if kind == "patches":
        patch, most = int(rule["patch"]), int(rule["max_patches"])
        patches = math.ceil(width / patch) * math.ceil(height / patch)
        if patches > most:
            scale = math.sqrt(most * patch * patch / (width * height))
            patches = math.floor(width * scale / patch) * math.floor(height * scale / patch)
        return math.ceil(min(patches, most) * float(rule["multiplier"]))
    if kind == "pixels":
        w, h = _fit(width, height, rule["max_side"])
        return math.ceil(w * h / float(rule["pixels_per_token"]))
    if kind == "gemini":
        if max(width, height) <= rule["small_side"]:
            return int(rule["small_tokens"])
        tiles = math.ceil(width / rule["tile"]) * math.ceil(height / rule["tile"])
        return int(rule["per_tile"] * tiles)
    raise ValueError(f"unknown image token rule {kind!r}")


def cost_usd(model: str, usage: Usage, image_sizes: Sequence[tuple[int, int]] = ()) -> float | None:
    """Dollars for one turn of ``provider:model``; ``None`` for a model not in the table.

    When the provider reported no prompt count (the stream died first), the
    prompt is estimated from the images alone, a lower bound.
    """
    price = price_for(model)
    if price is None:
        return None
    prompt = usage.prompt_tokens
    if prompt == 0 and image_sizes:
        prompt = sum(image_tokens(price.image_rule, w, h) for w, h in image_sizes)
    cached = min(usage.cached_tokens, prompt)
    total = (
        (prompt - cached) * price.input
        + cached * price.cached_input
        + usage.completion_tokens * price.output
    )
    return round(total / 1_000_000, 8)
