"""Where Sightline keeps its files.

Every path the app writes comes from here. ``SIGHTLINE_HOME`` moves all of
them under one folder (tests, portable installs); otherwise platformdirs
picks the OS's conventional places. Read at call time, never cached, so a
test that sets the variable is always obeyed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import platformdirs

from models.errors import InputError

APP = "sightline"


class AppPaths(NamedTuple):
    """A named tuple, not a dataclass: the right-click's hand-over reads these, and
    ``dataclasses`` (with ``inspect``) would add 7 ms of imports before its popup."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path
    log_dir: Path
    models_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def database(self) -> Path:
        return self.data_dir / "history.sqlite3"

    @property
    def blobs_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def instance_lock(self) -> Path:
        """Held by the window that other launches hand their files to."""
        return self.data_dir / "instance.lock"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "sightline.log"

    @property
    def states_dir(self) -> Path:
        """Saved KV states of conversations, so reopening one resumes it (per model file)."""
        return self.cache_dir / "conversation-states"

    def ensure(self) -> AppPaths:
        for d in (self.config_dir, self.data_dir, self.cache_dir, self.log_dir, self.models_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self


def app_paths() -> AppPaths:
    home = os.environ.get("SIGHTLINE_HOME")
    if home:
        root = Path(home).expanduser().resolve()
        if root.exists() and not root.is_dir():
            raise InputError(f"SIGHTLINE_HOME={home} is not a folder — point it at a folder")
        return AppPaths(
            root / "config", root / "data", root / "cache", root / "logs", root / "models"
        )
    data = Path(platformdirs.user_data_dir(APP, appauthor=False))
    return AppPaths(
        Path(platformdirs.user_config_dir(APP, appauthor=False)),
        data,
        Path(platformdirs.user_cache_dir(APP, appauthor=False)),
        Path(platformdirs.user_log_dir(APP, appauthor=False)),
        data / "models",
    )


def readable(text: str) -> str:
    """OS text (a file name, an argument) as it can be shown and stored: bad bytes become U+FFFD.

    Python hands bytes that are not UTF-8 over as lone surrogates, which no
    terminal, JSON reader or SQLite column accepts. The OS form stays what
    opens the file; this is only what a person (or the history) reads.
    """
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "replace")
    return raw.decode("utf-8", "replace")
