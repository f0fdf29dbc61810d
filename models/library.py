"""The on-disk library of embedded models.

One folder per model under the models directory, holding its text GGUF and
(for a model that can see) its mmproj; loose GGUF files dropped straight
into the directory are found too. Whether a model can see is decided by
reading the files' headers — a valid CLIP projector whose output matches
the text model — never by its name, and never by reading whole files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from models.entry import ModelEntry
from models.errors import ModelError
from models.gguf_info import GgufHeader, read_header, validate_pair

_MMPROJ_PATTERNS = ("mmproj-{stem}.gguf", "{stem}-mmproj.gguf", "{stem}.mmproj.gguf")


def _entry(
    name: str, text: GgufHeader, mmproj: GgufHeader | None, default: str | None
) -> ModelEntry:
    vision = False
    if mmproj is not None:
        try:
            validate_pair(text.path, mmproj.path)
            vision = True
        except ModelError:
            vision = False
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
    for folder in sorted(p for p in models_dir.iterdir() if p.is_dir()):
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
    by_name = {h.path.name: h for h in loose}
    for header in loose:
        if header.is_projector:
            continue
        stem = header.path.stem
        mmproj = next(
            (
                by_name[p.format(stem=stem)]
                for p in _MMPROJ_PATTERNS
                if p.format(stem=stem) in by_name
            ),
            None,
        )
        entries.append(_entry(stem, header, mmproj, default))
    return sorted(entries, key=lambda e: e.name)
