"""The catalog of downloadable vision models: data in ``resources/catalog.toml``.

A user's own ``catalog.toml`` (same format) adds or overrides entries, so a
new model needs no new release. Entries are checked on load and a broken one
is reported with its file and key, not as a KeyError later.
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from models.errors import InputError


@dataclass(frozen=True, slots=True)
class CatalogFile:
    url: str
    size: int | None = None
    sha256: str | None = None

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1].split("?", 1)[0]


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    name: str
    title: str
    repo: str
    license: str
    context_length: int
    ram_gb: float
    quantization: str
    text: CatalogFile
    mmproj: CatalogFile
    source: str = "built-in"
    rank: int = 0

    @property
    def size_bytes(self) -> int | None:
        if self.text.size is None or self.mmproj.size is None:
            return None
        return self.text.size + self.mmproj.size


def _file(raw: Any, where: str) -> CatalogFile:
    if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
        raise InputError(f"{where}: needs a table with a `url`")
    url, size, sha = raw["url"], raw.get("size"), raw.get("sha256")
    if not url.startswith(("https://", "http://")) or not url.endswith(".gguf"):
        raise InputError(f"{where}.url: must be an http(s) address of a .gguf file")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size <= 0):
        raise InputError(f"{where}.size: must be a whole number of bytes")
    if sha is not None and (
        not isinstance(sha, str) or len(sha) != 64 or not set(sha) <= set(string.hexdigits)
    ):
        raise InputError(f"{where}.sha256: must be 64 hex digits")
    return CatalogFile(url, size, sha.lower() if sha else None)


def _entries(text: str, origin: str) -> dict[str, CatalogEntry]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{origin}: not valid TOML ({exc})") from exc
    models = data.get("models", {})
    if not isinstance(models, dict):
        raise InputError(f"{origin}: `models` must be a table of [models.NAME] entries")
    found: dict[str, CatalogEntry] = {}
    for name, raw in models.items():
        where = f"{origin}: models.{name}"
        if not isinstance(raw, dict):
            raise InputError(f"{where}: must be a table ([models.{name}])")
        try:
            found[name] = CatalogEntry(
                name=name,
                title=str(raw.get("title", name)),
                repo=str(raw.get("repo", "")),
                license=str(raw.get("license", "unknown")),
                context_length=int(raw.get("context_length", 4096)),
                ram_gb=float(raw["ram_gb"]),
                quantization=str(raw.get("quantization", "")),
                text=_file(raw.get("text"), f"{where}.text"),
                mmproj=_file(raw.get("mmproj"), f"{where}.mmproj"),
                source=origin,
                rank=int(raw.get("rank", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{where}: missing or invalid field ({exc})") from exc
    return found


def load_catalog(user_dir: Path | None = None) -> dict[str, CatalogEntry]:
    shipped = resources.files("resources").joinpath("catalog.toml").read_text(encoding="utf-8")
    catalog = _entries(shipped, "built-in catalog")
    if user_dir is not None:
        user_file = user_dir / "catalog.toml"
        if user_file.exists():
            try:
                text = user_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError.for_file(user_file, f"cannot be read ({exc})") from exc
            catalog.update(_entries(text, str(user_file)))
    return catalog
