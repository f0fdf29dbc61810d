"""User settings, kept as TOML in the config folder.

Only preferences live here; secrets never do (they go to the OS keyring).
Unknown keys are kept on save so a newer version's settings survive an
older one.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from typing import Any, get_args, get_type_hints

from desktop.paths import app_paths
from models.errors import InputError


@dataclass(slots=True)
class Settings:
    default_model: str | None = None
    ollama_host: str | None = None
    ollama_keep_alive: str = "10m"
    openai_compat_url: str | None = None
    n_threads: int | None = None
    n_gpu_layers: int = 0
    n_ctx: int = 4096
    max_image_side: int = 1344
    allow_cloud: bool = False
    openai_base_url: str | None = None
    anthropic_base_url: str | None = None
    gemini_base_url: str | None = None
    cache_answers: bool = False
    """Cache answers to any repeated question, not only temperature-0 presets."""
    theme: str = "system"
    max_video_frames: int = 32
    """The most frames taken from one video (``--frames`` above it is refused)."""

    def effective_ollama_host(self) -> str:
        return self.ollama_host or os.environ.get("OLLAMA_HOST") or "http://127.0.0.1:11434"

    def effective_openai_compat_url(self) -> str | None:
        return self.openai_compat_url or os.environ.get("SIGHTLINE_OPENAI_COMPAT_URL")


def load_settings() -> Settings:
    path = app_paths().config_file
    if not path.exists():
        return Settings()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError.for_file(path, f"settings file is not valid TOML ({exc})") from exc
    hints = get_type_hints(Settings)
    values: dict[str, Any] = {}
    for f in fields(Settings):
        if f.name not in raw:
            continue
        value, expected = raw[f.name], hints[f.name]
        if not _accepts(expected, value):
            raise InputError.for_file(
                path, f"setting {f.name!r} should be {_describe(expected)}, not {value!r}"
            )
        values[f.name] = value
    return Settings(**values)


def _accepts(expected: Any, value: Any) -> bool:
    options = get_args(expected) or (expected,)
    if isinstance(value, bool):
        return bool in options
    return any(isinstance(value, o) for o in options if o is not bool)


def _describe(expected: Any) -> str:
    names = {bool: "true or false", int: "a whole number", str: "text", float: "a number"}
    options = [o for o in (get_args(expected) or (expected,)) if o is not type(None)]
    return " or ".join(names.get(o, getattr(o, "__name__", str(o))) for o in options)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def save_settings(settings: Settings) -> None:
    """Write atomically, keeping keys this version does not know."""
    path = app_paths().config_file
    path.parent.mkdir(parents=True, exist_ok=True)
    merged: dict[str, Any] = {}
    if path.exists():
        try:
            merged = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            merged = {}
    for f in fields(Settings):
        merged[f.name] = getattr(settings, f.name)
    lines = [f"{k} = {_toml_value(v)}" for k, v in merged.items() if v is not None]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)
