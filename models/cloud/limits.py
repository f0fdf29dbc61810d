"""Each provider's request limits, read from ``resources/cloud_limits.toml``.

Kept as data because providers change them; the file names its sources.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

Provider = Literal["openai", "anthropic", "gemini"]
PROVIDERS: tuple[Provider, ...] = ("openai", "anthropic", "gemini")
TITLES: dict[Provider, str] = {"openai": "OpenAI", "anthropic": "Anthropic", "gemini": "Gemini"}


def split_cloud_name(name: str) -> tuple[Provider, str] | None:
    """``("openai", "gpt-4.1")`` for ``openai:gpt-4.1``; ``None`` for a local model's name."""
    kind, sep, model = name.partition(":")
    for provider in PROVIDERS:
        if sep and kind == provider and model:
            return provider, model
    return None


@dataclass(frozen=True, slots=True)
class ProviderLimits:
    provider: Provider
    formats: tuple[str, ...]
    max_request_bytes: int
    max_images: int
    max_image_bytes: int | None = None
    """Per image, as sent (base64)."""
    max_side: int | None = None
    many_images_threshold: int | None = None
    many_images_max_side: int | None = None

    def side_limit(self, n_images: int) -> int | None:
        """The longest side allowed when a request carries ``n_images`` images."""
        if (
            self.many_images_threshold is not None
            and self.many_images_max_side is not None
            and n_images > self.many_images_threshold
        ):
            return min(self.many_images_max_side, self.max_side or self.many_images_max_side)
        return self.max_side


def _table() -> dict[str, Any]:
    text = resources.files("resources").joinpath("cloud_limits.toml").read_text("utf-8")
    return tomllib.loads(text)


@cache
def limits_for(provider: Provider) -> ProviderLimits:
    raw = _table()[provider]
    return ProviderLimits(
        provider=provider,
        formats=tuple(raw["formats"]),
        max_request_bytes=int(raw["max_request_bytes"]),
        max_images=int(raw["max_images"]),
        max_image_bytes=raw.get("max_image_bytes"),
        max_side=raw.get("max_side"),
        many_images_threshold=raw.get("many_images_threshold"),
        many_images_max_side=raw.get("many_images_max_side"),
    )
