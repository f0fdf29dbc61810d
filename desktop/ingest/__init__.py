"""Files in, model-ready images out: the one door every picture and PDF comes through.

The CLI, the window and the right-click path all call ``ingest_file``, so a
file that works (or fails, with the same one-line reason) in one works the
same in the others.
"""

from __future__ import annotations

import dataclasses
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from desktop.ingest.image import optional_decoders, prepare_image
from desktop.ingest.pages import parse_pages
from desktop.ingest.pdf import pdf_page_count, render_pages
from desktop.ingest.sniff import UNSUPPORTED, Kind, looks_like, sniff
from desktop.ingest.video import video_frames
from desktop.paths import readable
from models.conversation import ImagePart
from models.errors import InputError

__all__ = [
    "ingest_file",
    "parse_pages",
    "pdf_page_count",
    "prepare_image_bytes",
    "sniff_file",
]

DEFAULT_MAX_PAGES = 20
_HEAD = 4096


def _unsupported(label: str, kind: Kind) -> InputError:
    return InputError.for_file(
        label, f"{kind.value} is not supported — convert it to PNG or JPEG first"
    )


def _classify(head: bytes, label: str) -> Kind:
    if not head:
        raise InputError.for_file(label, "the file is empty")
    kind = sniff(head)
    if kind in UNSUPPORTED and kind not in optional_decoders():
        raise _unsupported(label, kind)
    if kind is Kind.UNKNOWN:
        raise InputError.for_file(label, f"not an image or PDF (it looks like {looks_like(head)})")
    return kind


STDIN_NAMES = frozenset({"-", "/dev/stdin"})
"""Names that mean "the picture comes on standard input" (``describe - < photo.png``)."""

_MAX_STDIN_BYTES = 512 * 1024 * 1024


def is_stdin(path: Path) -> bool:
    return str(path) in STDIN_NAMES


def read_stdin() -> bytes:
    """All of standard input, as a file's bytes; a pipe is read to its end, never held open."""
    data = sys.stdin.buffer.read(_MAX_STDIN_BYTES + 1)
    if len(data) > _MAX_STDIN_BYTES:
        raise InputError.for_file("-", f"more than {_MAX_STDIN_BYTES >> 20} MB on standard input")
    return data


def _not_regular(mode: int) -> str | None:
    """Why a path that exists cannot be read as a file, before anything opens it.

    Opening a FIFO blocks until a writer comes, forever if none does; a
    device never ends. Only regular files are read.
    """
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "is a pipe (FIFO), not a file — pass `-` to read standard input"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a file"
    return "is a device, not a file"


def sniff_file(path: Path) -> Kind:
    """The file's real type, or an ``InputError`` saying why it cannot be used."""
    try:
        problem = _not_regular(path.stat().st_mode)
        if problem:
            raise InputError.for_file(path, problem)
        with path.open("rb") as f:
            head = f.read(_HEAD)
    except FileNotFoundError:
        raise InputError.for_file(path, "no such file") from None
    except IsADirectoryError:
        raise InputError.for_file(path, "is a folder, not a file") from None
    except PermissionError:
        raise InputError.for_file(path, "permission denied") from None
    except OSError as exc:
        raise InputError.for_file(path, f"cannot be read ({exc.strerror or exc})") from exc
    return _classify(head, str(path))


def prepare_image_bytes(data: bytes, name: str, max_side: int) -> ImagePart:
    """An image that never was a file (pasted from the clipboard)."""
    kind = _classify(data[:_HEAD], name)
    if kind is Kind.PDF:
        raise InputError.for_file(name, "a pasted PDF cannot be read — save it and attach the file")
    return prepare_image(data, name, kind, max_side)


def ingest_file(
    path: Path,
    *,
    max_side: int,
    pages: str | None = None,
    max_pages: int = DEFAULT_MAX_PAGES,
    cancel: threading.Event | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
    frames: int | None = None,
    every: float | None = None,
    max_frames: int | None = None,
) -> Iterator[ImagePart]:
    """Yield one image per picture, one per PDF page as each is rendered, or a video's frames.

    Without an explicit ``pages`` selection a PDF is capped at ``max_pages``
    pages, and ``on_notice`` says so; an explicit selection may go beyond.
    """
    if is_stdin(path):
        yield from _ingest_stdin(max_side, pages, max_pages, cancel, on_progress, on_notice)
        return
    kind = sniff_file(path)
    if kind is Kind.VIDEO:
        if pages:
            raise InputError.for_file(path, "--pages only applies to PDFs (use --frames)")
        yield from video_frames(
            path,
            max_side=max_side,
            frames=frames,
            every=every,
            max_frames=max_frames,
            cancel=cancel,
        )
        return
    if kind is not Kind.PDF:
        if pages:
            raise InputError.for_file(path, "--pages only applies to PDFs")
        yield prepare_image(path, readable(str(path)), kind, max_side, on_notice)
        return
    count = pdf_page_count(path)
    if pages:
        selected = parse_pages(pages, count)
    else:
        selected = list(range(1, min(count, max_pages) + 1))
        if count > max_pages and on_notice:
            on_notice(
                f"{path}: has {count} pages; reading pages 1-{max_pages} "
                "(choose others with --pages, e.g. --pages 21-40)"
            )
    for part in render_pages(path, selected, max_side, cancel, on_progress):
        yield dataclasses.replace(part, label=readable(part.label))  # labels are shown and saved


def _ingest_stdin(
    max_side: int,
    pages: str | None,
    max_pages: int,
    cancel: threading.Event | None,
    on_progress: Callable[[int, int], None] | None,
    on_notice: Callable[[str], None] | None,
) -> Iterator[ImagePart]:
    """Standard input read whole, then handled like a file of those bytes."""
    data = read_stdin()
    kind = _classify(data[:_HEAD], "-")
    if kind is not Kind.PDF:
        if pages:
            raise InputError.for_file("-", "--pages only applies to PDFs")
        yield prepare_image(data, "-", kind, max_side, on_notice)
        return
    # The PDF reader works on files: spool the document to a private temporary one.
    with tempfile.TemporaryDirectory(prefix="sightline-stdin-") as folder:
        spooled = Path(folder) / "stdin.pdf"
        spooled.write_bytes(data)
        yield from ingest_file(
            spooled,
            max_side=max_side,
            pages=pages,
            max_pages=max_pages,
            cancel=cancel,
            on_progress=on_progress,
            on_notice=on_notice,
        )
