"""Prompt presets, kept as data in ``resources/presets/`` so they can change without code."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources

from models.errors import InputError


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    title: str
    description: str
    prompt: str
    max_tokens: int = 512
    min_images: int = 1
    needs_fields: bool = False

    def render(self, fields: tuple[str, ...] | None = None) -> str:
        if self.needs_fields:
            if not fields:
                raise InputError(
                    f"the {self.name} preset needs --fields, e.g. --fields name,date,total"
                )
            return self.prompt.replace("{fields}", ", ".join(fields))
        return self.prompt


def load_presets() -> dict[str, Preset]:
    found: dict[str, Preset] = {}
    for entry in sorted(resources.files("resources.presets").iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        name = entry.name.removesuffix(".toml")
        raw = tomllib.loads(entry.read_text(encoding="utf-8"))
        found[name] = Preset(name=name, **raw)
    return found


def get_preset(name: str) -> Preset:
    presets = load_presets()
    try:
        return presets[name]
    except KeyError:
        raise InputError(f"no preset named {name!r} — available: {', '.join(presets)}") from None
