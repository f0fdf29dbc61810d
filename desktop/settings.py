"""User settings, kept as TOML in the config folder.

Only preferences live here; secrets never do (they go to the OS keyring).
Unknown keys are kept on save so a newer version's settings survive an
older one.

The window and the command line both write this file, so saving is
read-modify-write: only the keys that differ from what this process last
read (or wrote) are changed, applied onto what is on disk at that moment,
and the result replaces the file atomically. A Settings dialog that only
changed the theme therefore never wipes a default model the CLI set since.
Numbers are range-checked on load, with a message naming the key, so a
typo such as ``n_threads = 10000`` is refused instead of making every
answer crawl.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, get_args, get_type_hints

from desktop.paths import app_paths
from models.errors import InputError
from models.machine import total_ram


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
    answer_tokens: int = 1024
    """The longest answer, in tokens, unless a conversation sets its own."""
    temperature: float | None = None
    """None: decode greedily, and sample anew (temperature 0.8) when regenerating."""
    pdf_page_budget_s: float = 20.0
    """How long one PDF page may take to render before it is abandoned."""
    batch_jobs: int = 4
    """Requests a batch keeps in flight to a server or cloud model (the embedded model: one)."""
    ollama_connect_timeout_s: float = 5.0
    """How long to wait for an Ollama server to accept a connection."""
    ollama_stall_timeout_s: float = 60.0
    """How long an Ollama answer may go silent (before its first chunk, or between two)."""
    capture_shortcut: str = "Ctrl+Alt+S"
    """The global shortcut that opens the region capture; empty turns it off."""
    flash_attention: bool | None = None
    """Unset: on wherever llama.cpp supports it (measured faster on the CPU too); false: off."""
    conversation_states_ram_mb: int | None = None
    """RAM for recent conversations' KV state; unset: an eighth of the machine's, at most 8 GiB."""
    conversation_states_disk_mb: int = 4096

    max_video_frames: int = 32
    """The most frames taken from one video (``--frames`` above it is refused)."""
    file_manager_offered: bool = False
    """A packaged Sightline asked once whether to add the right-click; it does not ask again."""

    def states_ram_bytes(self) -> int:
        if self.conversation_states_ram_mb is not None:
            return max(0, self.conversation_states_ram_mb) << 20
        return min(8 << 30, total_ram() // 8)

    def effective_ollama_host(self) -> str:
        return self.ollama_host or os.environ.get("OLLAMA_HOST") or "http://127.0.0.1:11434"

    def effective_openai_compat_url(self) -> str | None:
        return self.openai_compat_url or os.environ.get("SIGHTLINE_OPENAI_COMPAT_URL")


_RANGES: dict[str, tuple[float, float]] = {
    "n_threads": (1, 256),
    "n_gpu_layers": (-1, 999),
    "n_ctx": (512, 131072),
    "max_image_side": (224, 4096),
    "pdf_page_budget_s": (0.1, 600),
    "batch_jobs": (1, 256),
    "ollama_connect_timeout_s": (0.5, 120),
    "ollama_stall_timeout_s": (1, 600),
    "conversation_states_ram_mb": (0, 1 << 20),
    "conversation_states_disk_mb": (0, 1 << 22),
    "max_video_frames": (1, 256),
}
"""Allowed values, inclusive; the Settings dialog offers the same ranges."""

_CHOICES: dict[str, tuple[str, ...]] = {"theme": ("system", "light", "dark")}

_last_seen: dict[Path, dict[str, Any]] = {}
"""Per config file, the values this process last read from it or wrote to it."""


def _read_raw(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError.for_file(path, f"settings file is not valid TOML ({exc})") from exc


def _values(settings: Settings) -> dict[str, Any]:
    return {f.name: getattr(settings, f.name) for f in fields(Settings)}


def load_settings() -> Settings:
    path = app_paths().config_file
    settings = _parse(path, _read_raw(path))
    _last_seen[path] = _values(settings)
    return settings


def _parse(path: Path, raw: dict[str, Any]) -> Settings:
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
        _check_range(path, f.name, value)
        values[f.name] = float(value) if hints[f.name] is float else value
    return Settings(**values)


def _check_range(path: Path, key: str, value: Any) -> None:
    if key in _RANGES and value is not None:
        low, high = _RANGES[key]
        if not low <= value <= high:
            raise InputError.for_file(
                path, f"setting {key!r} must be between {low:g} and {high:g}, not {value!r}"
            )
    if key in _CHOICES and value not in _CHOICES[key]:
        raise InputError.for_file(
            path, f"setting {key!r} must be one of {', '.join(_CHOICES[key])}, not {value!r}"
        )


def _accepts(expected: Any, value: Any) -> bool:
    options = get_args(expected) or (expected,)
    if isinstance(value, bool):
        return bool in options
    if isinstance(value, int) and float in options:
        return True
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
    """Write only what changed, onto the file as it is now; atomically; unknown keys kept.

    "Changed" means different from what this process last read or wrote
    (defaults when it never read the file), so callers need not say which
    keys they touched.
    """
    path = app_paths().config_file
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        on_disk = _read_raw(path)
    except InputError:
        on_disk = {}  # a damaged file is replaced by what this process knows
    seen = _last_seen.get(path, _values(Settings()))
    merged = dict(on_disk)
    for key, value in _values(settings).items():
        if value != seen.get(key):
            merged[key] = value
    lines = [f"{k} = {_toml_value(v)}" for k, v in merged.items() if v is not None]
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    defaults = _values(Settings())
    _last_seen[path] = {key: merged.get(key, default) for key, default in defaults.items()}
