"""The catalog of downloadable vision models: data in ``resources/catalog.toml``.

A user's own ``catalog.toml`` (same format) adds or overrides entries, so a
new model needs no new release. Entries are checked on load and a broken one
is reported with its file and key, not as a KeyError later.
"""

from __future__ import annotations

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
    size, sha = raw.get("size"), raw.get("sha256")
    if size is not None and not isinstance(size, int):
        raise InputError(f"{where}.size: must be a whole number of bytes")
    if sha is not None and (not isinstance(sha, str) or len(sha) != 64):
        raise InputError(f"{where}.sha256: must be 64 hex digits")
    return CatalogFile(raw["url"], size, sha.lower() if sha else None)


def _entries(text: str, origin: str) -> dict[str, CatalogEntry]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{origin}: not valid TOML ({exc})") from exc
    found: dict[str, CatalogEntry] = {}
    for name, raw in (data.get("models") or {}).items():
        where = f"{origin}: models.{name}"
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
            catalog.update(_entries(user_file.read_text(encoding="utf-8"), str(user_file)))
    return catalog
