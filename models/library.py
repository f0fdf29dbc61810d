"""The on-disk library of embedded models.

One folder per model under the models directory, holding its text GGUF and
(for a model that can see) its mmproj; loose GGUF files dropped straight
into the directory are found too. Whether a model can see is decided by
reading the files' headers — a valid CLIP projector whose output matches
the text model — never by its name, and never by reading whole files.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from models.catalog import CatalogEntry
from models.entry import ModelEntry
from models.errors import ModelError
from models.gguf_info import (
    GgufHeader,
    check_pair,
    read_header,
    read_text_model,
    validate_pair,
)
from models.machine import disk_free

if TYPE_CHECKING:
    from models.download import Progress

_MMPROJ_PATTERNS = ("mmproj-{stem}.gguf", "{stem}-mmproj.gguf", "{stem}.mmproj.gguf")


def _entry(
    name: str, text: GgufHeader, mmproj: GgufHeader | None, default: str | None
) -> ModelEntry:
    vision = mmproj is not None and _fits(text, mmproj)
    size = text.file_size + (mmproj.file_size if mmproj else 0)
    return ModelEntry(
        name=name,
        backend="embedded",
        vision=vision,
        size_bytes=size,
        path=str(text.path),
        mmproj=str(mmproj.path) if mmproj else None,
        context_length=text.context_length,
        installed=True,
        default=default in (name, f"embedded:{name}"),
    )


def _fits(text: GgufHeader, mmproj: GgufHeader) -> bool:
    try:
        check_pair(text, mmproj)
    except ModelError:
        return False
    return True


def _loose_projector(text: GgufHeader, loose: list[GgufHeader]) -> GgufHeader | None:
    """The projector dropped next to a loose text model: by name, else the one mmproj that fits."""
    by_name = {h.path.name: h for h in loose}
    stem = text.path.stem
    for pattern in _MMPROJ_PATTERNS:
        if pattern.format(stem=stem) in by_name:
            return by_name[pattern.format(stem=stem)]
    fitting = [
        h
        for h in loose
        if h.is_projector and h.path.name.lower().startswith("mmproj") and _fits(text, h)
    ]
    return fitting[0] if len(fitting) == 1 else None


def _headers(paths: list[Path], on_problem: Callable[[str], None] | None) -> list[GgufHeader]:
    headers = []
    for path in sorted(paths):
        try:
            headers.append(read_header(path))
        except ModelError as exc:
            if on_problem:
                on_problem(str(exc))
    return headers


def scan(
    models_dir: Path,
    default: str | None = None,
    on_problem: Callable[[str], None] | None = None,
) -> list[ModelEntry]:
    """Every usable model, sorted by name; unreadable files are reported, not fatal."""
    if not models_dir.is_dir():
        return []
    entries: list[ModelEntry] = []
    for folder in sorted(p for p in models_dir.iterdir() if p.is_dir() and p.name[0] != "."):
        headers = _headers(list(folder.glob("*.gguf")), on_problem)
        texts = [h for h in headers if not h.is_projector]
        projectors = [h for h in headers if h.is_projector]
        if len(texts) != 1:
            if texts and on_problem:
                on_problem(f"{folder}: holds {len(texts)} text models; keep one per folder")
            continue
        entries.append(
            _entry(folder.name, texts[0], projectors[0] if projectors else None, default)
        )
    loose = _headers(list(models_dir.glob("*.gguf")), on_problem)
    for header in loose:
        if not header.is_projector:
            entries.append(
                _entry(header.path.stem, header, _loose_projector(header, loose), default)
            )
    return sorted(entries, key=lambda e: e.name)


MANIFEST = "model.toml"


def _valid_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or cleaned in (".", "..") or any(c in cleaned for c in '/\\:*?"<>|'):
        raise ModelError(f"{name!r} is not a usable model name (no slashes, colons or quotes)")
    return cleaned


def _read_manifest(folder: Path) -> dict[str, str | bool]:
    try:
        raw = tomllib.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    return {k: v for k, v in raw.items() if isinstance(v, str | bool)}


def _write_manifest(folder: Path, fields: dict[str, str | bool]) -> None:
    lines = []
    for key, value in fields.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        else:
            escaped = value.replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'{key} = "{escaped}"')
    tmp = folder / f".{MANIFEST}.tmp"
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, folder / MANIFEST)


def import_model(
    text: Path, mmproj: Path | None, models_dir: Path, name: str | None = None, link: bool = False
) -> ModelEntry:
    """Validate the pair, then copy (or link) it into its own folder in the library."""
    if mmproj is not None:
        validate_pair(text, mmproj)
    else:
        read_text_model(text)
    folder = models_dir / _valid_name(name or text.stem)
    if folder.exists():
        raise ModelError(f"a model named {folder.name!r} already exists — pick another --name")
    staging = models_dir / f".importing-{folder.name}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        for source in (text, mmproj):
            if source is None:
                continue
            target = staging / source.name
            if link:
                try:
                    os.link(source, target)
                except OSError:
                    target.symlink_to(source.resolve())
            else:
                shutil.copyfile(source, target)
        _write_manifest(staging, {"name": folder.name, "source": "import", "linked": link})
        os.replace(staging, folder)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ModelError(f"could not import into {models_dir}: {exc.strerror or exc}") from exc
    return next(e for e in scan(models_dir) if e.name == folder.name)


def remove(name: str, models_dir: Path) -> Path:
    bare = name.removeprefix("embedded:")
    folder = models_dir / _valid_name(bare)
    if folder.is_dir():
        shutil.rmtree(folder)
        return folder
    loose = models_dir / f"{bare}.gguf"
    if loose.is_file():
        entries = scan(models_dir)
        mine = next((e.mmproj for e in entries if e.path == str(loose)), None)
        shared = sum(e.mmproj == mine for e in entries) > 1
        loose.unlink()
        if mine is not None and not shared:
            Path(mine).unlink(missing_ok=True)
        return loose
    raise ModelError(f"no installed model named {bare!r}")


def pull(
    entry: CatalogEntry,
    models_dir: Path,
    *,
    progress: Callable[[str, Progress], None] | None = None,
    cancel: threading.Event | None = None,
    free_space: Callable[[Path], int] | None = None,
) -> ModelEntry:
    """Download a catalog model's text model and projector together; resumable."""
    from models.download import download  # httpx only when downloading

    free_space = free_space or disk_free
    folder = models_dir / _valid_name(entry.name)
    if entry.size_bytes is not None:
        needed = sum(
            f.size or 0 for f in (entry.text, entry.mmproj) if not (folder / f.filename).exists()
        )
        if needed:
            free = free_space(models_dir if models_dir.exists() else models_dir.parent)
            if needed > free:
                raise ModelError(
                    f"not enough disk space for {entry.title}: it needs {needed / 1e9:.1f} GB "
                    f"and {free / 1e9:.1f} GB is free"
                )
    # Written after each file, so a pull resumed after the text model keeps its hash.
    manifest = _read_manifest(folder) | {
        "name": entry.name,
        "source": f"catalog:{entry.source}",
        "license": entry.license,
    }
    for role, item in (("text", entry.text), ("mmproj", entry.mmproj)):
        target = folder / item.filename
        if target.exists():
            continue
        report: Callable[[Progress], None] | None = None
        if progress is not None:
            report = functools.partial(progress, f"{role}: {item.filename}")
        done = download(
            item.url,
            target,
            expected_size=item.size,
            sha256=item.sha256,
            progress=report,
            cancel=cancel,
            free_space=free_space,
        )
        manifest[f"{role}_sha256"] = done.sha256
        manifest[f"{role}_pre_verified"] = done.verified
        _write_manifest(folder, manifest)
    validate_pair(folder / entry.text.filename, folder / entry.mmproj.filename)
    return next(e for e in scan(models_dir) if e.name == folder.name)


def recommend(
    catalog: dict[str, CatalogEntry], ram_bytes: int, free_disk_bytes: int
) -> CatalogEntry | None:
    """The highest-ranked catalog model that fits in memory with headroom and on disk.

    A model whose download size is unknown is judged by RAM alone.
    """
    usable_ram = ram_bytes * 0.75
    fitting = [
        e
        for e in catalog.values()
        if e.ram_gb * 1e9 <= usable_ram
        and (e.size_bytes is None or e.size_bytes * 1.1 <= free_disk_bytes)
    ]
    return max(fitting, key=lambda e: (e.rank, -e.ram_gb), default=None)
