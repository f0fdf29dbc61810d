"""Which files a batch covers: the named files, and the pictures, PDFs and videos in folders.

Folders are read by extension so that a damaged ``photo.jpg`` is still tried
(and reported), while notes, our own ``.txt``/``.json`` sidecars and hidden
files are left out. A file named explicitly is always tried.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop.ingest import parse_pages, pdf_page_count, sniff_file
from desktop.ingest.sniff import Kind
from models.errors import InputError

MEDIA_SUFFIXES = frozenset(
    {
        *(".jpg", ".jpeg", ".jpe", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"),
        *(".heic", ".heif", ".avif", ".pdf"),
        *(".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi"),
    }
)


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One question: a file, or one page of a PDF."""

    path: Path
    page: int | None = None

    @property
    def name(self) -> str:
        """How the item is written in results: the path, with ``#page=N`` for a PDF page."""
        return str(self.path) if self.page is None else f"{self.path}#page={self.page}"


@dataclass(frozen=True, slots=True)
class Rejected:
    """A named path that cannot be a batch item at all (missing, unreadable)."""

    name: str
    reason: str
    """The whole message, path included."""


def _folder_files(folder: Path, recursive: bool) -> Iterator[Path]:
    entries = sorted(folder.iterdir(), key=lambda p: p.name.lower())
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            if recursive:
                yield from _folder_files(entry, recursive)
        elif entry.suffix.lower() in MEDIA_SUFFIXES:
            yield entry


def _expand(path: Path, pages: str | None) -> list[BatchItem]:
    """A PDF is one item per page (all of them, or those ``pages`` selects)."""
    try:
        kind = sniff_file(path)
    except InputError:
        return [BatchItem(path)]  # the reason is reported when the item is prepared
    if kind is not Kind.PDF:
        return [BatchItem(path)]
    count = pdf_page_count(path)
    selected = parse_pages(pages, count) if pages else range(1, count + 1)
    return [BatchItem(path, page) for page in selected]


def collect(
    paths: Sequence[str | Path], *, recursive: bool = False, pages: str | None = None
) -> tuple[list[BatchItem], list[Rejected]]:
    """The items in a stable order (folders sorted by name), each file once."""
    items: list[BatchItem] = []
    rejected: list[Rejected] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            files = list(_folder_files(path, recursive))
        elif path.exists():
            files = [path]
        else:
            rejected.append(Rejected(str(path), f"{path}: no such file or folder"))
            continue
        for file in files:
            key = file.resolve()
            if key in seen:
                continue
            seen.add(key)
            try:
                items.extend(_expand(file, pages))
            except InputError as exc:
                rejected.append(Rejected(str(file), str(exc)))
    return items, rejected
