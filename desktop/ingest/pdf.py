"""PDF pages become images, one at a time, each handed on as soon as it is rendered.

PDFium (``pypdfium2``: wheels everywhere, no external program) renders in a
child process that is killed when a page exceeds its time budget
(``pdf_page_budget_s``) or the user cancels — see ``pdf_renderer``. Each
page is yielded as it is done, so the first reaches the model while later
ones are still to come.

poppler stays as the second reader: when PDFium will not open a file and
``pdftoppm`` is installed, pdf2image reads the page count (pdfinfo) and one
``pdftoppm`` process renders a whole run of pages into a temporary folder,
each page handed on as soon as its file is complete. ``-scale-to`` fits
each page's longer side to what the model can use; cancelling kills it.
"""

from __future__ import annotations

import queue
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO

import pdf2image
from pdf2image.exceptions import PDFInfoNotInstalledError, PDFPageCountError, PDFSyntaxError
from PIL import Image

from desktop.ingest.pdf_renderer import (
    PdfRejected,
    RendererCancelled,
    RendererTimeout,
    renderer,
)
from models.conversation import ImagePart
from models.errors import InputError

_CANCEL_CHECK_S = 0.05
POPPLER_MISSING = (
    "reading PDFs needs poppler — install it (`apt install poppler-utils`, "
    "`brew install poppler`, or poppler for Windows)"
)


PASSWORD = "the PDF is password-protected — remove the password and try again"
DAMAGED = "the PDF is damaged or incomplete (no reader could open it)"


def _budget(budget_s: float | None) -> float:
    if budget_s is not None:
        return budget_s
    from desktop.settings import load_settings  # one setting, read when a PDF is opened

    return load_settings().pdf_page_budget_s


def _rejected(path: Path, exc: PdfRejected) -> InputError:
    return InputError.for_file(path, PASSWORD if exc.password else DAMAGED)


def _poppler_can_try(exc: PdfRejected) -> bool:
    return exc.document and not exc.password and shutil.which("pdftoppm") is not None


def pdf_page_count(path: Path, budget_s: float | None = None) -> int:
    """The number of pages, from PDFium, else (a file PDFium rejects) from poppler."""
    budget = _budget(budget_s)
    try:
        pages = renderer().page_count(path, budget, None)
    except RendererTimeout:
        raise InputError.for_file(path, "the PDF took too long to open") from None
    except PdfRejected as exc:
        if not _poppler_can_try(exc):
            raise _rejected(path, exc) from exc
        return poppler_page_count(path)
    if pages <= 0:
        raise InputError.for_file(path, "the PDF has no pages")
    return pages


def poppler_page_count(path: Path) -> int:
    try:
        info = pdf2image.pdfinfo_from_path(str(path), timeout=60)
    except PDFInfoNotInstalledError as exc:
        raise InputError.for_file(path, POPPLER_MISSING) from exc
    except (PDFPageCountError, PDFSyntaxError) as exc:
        detail = str(exc).lower()
        if "password" in detail or "encrypt" in detail:
            raise InputError.for_file(path, PASSWORD) from exc
        raise InputError.for_file(
            path, "the PDF is damaged or incomplete (poppler cannot read it)"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise InputError.for_file(path, "the PDF took too long to open") from exc
    pages = int(info.get("Pages", 0) or 0)
    if pages <= 0:
        raise InputError.for_file(path, "the PDF has no pages")
    return pages


def _runs(pages: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive pages grouped, so each group is one poppler process."""
    runs: list[tuple[int, int]] = []
    for page in pages:
        if runs and page == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], page)
        else:
            runs.append((page, page))
    return runs


def _load_page(file: Path, label: str) -> ImagePart:
    with Image.open(file) as img:
        rgb = img.convert("RGB")
        return ImagePart.from_rgb(rgb.width, rgb.height, rgb.tobytes(), label=label)


def _lines(stream: IO[bytes], out: queue.Queue[str | None]) -> None:
    for raw in stream:
        out.put(raw.decode(errors="replace").rstrip("\n"))
    out.put(None)


def render_pages(
    path: Path,
    pages: Sequence[int],
    max_side: int,
    cancel: threading.Event | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    budget_s: float | None = None,
) -> Iterator[ImagePart]:
    """Yield the pages in order as each is rendered; stop early (quietly) when cancelled.

    Each page has ``budget_s`` (default: the ``pdf_page_budget_s`` setting);
    one that takes longer is abandoned with a message naming it.
    """
    budget = _budget(budget_s)
    total = len(pages)
    if on_progress:
        on_progress(0, total)
    for done, page in enumerate(pages, start=1):
        try:
            rendered = renderer().render(path, page, max_side, budget, cancel)
        except RendererCancelled:
            return
        except RendererTimeout:
            raise InputError(
                f"page {page} of {path} took too long to render (over {budget:g} s; "
                "pdf_page_budget_s in the settings allows more)"
            ) from None
        except PdfRejected as exc:
            if exc.document and _poppler_can_try(exc):
                yield from poppler_pages(path, pages[done - 1 :], max_side, cancel, on_progress)
                return
            if exc.document:
                raise _rejected(path, exc) from exc
            raise InputError.for_file(path, f"page {page} could not be rendered ({exc})") from exc
        yield ImagePart.from_rgb(
            rendered.width, rendered.height, rendered.rgb, label=f"{path.name} p.{page}"
        )
        if on_progress:
            on_progress(done, total)


def poppler_pages(
    path: Path,
    pages: Sequence[int],
    max_side: int,
    cancel: threading.Event | None,
    on_progress: Callable[[int, int], None] | None,
) -> Iterator[ImagePart]:
    """The second reader, for files PDFium will not open (known before any page is done).

    ``pdftoppm -progress`` reports each page once its file is written; a
    reader thread turns those lines into a queue, so waiting for the next
    page never polls the disk and a cancel is seen within ``_CANCEL_CHECK_S``.
    """
    total = len(pages)
    done = 0
    for first, last in _runs(pages):
        with tempfile.TemporaryDirectory(prefix="sightline-pdf-") as tmp:
            proc = subprocess.Popen(
                [
                    "pdftoppm",
                    "-progress",
                    "-f",
                    str(first),
                    "-l",
                    str(last),
                    "-scale-to",
                    str(max_side),
                    str(path),
                    str(Path(tmp) / "p"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            assert proc.stderr is not None
            lines: queue.Queue[str | None] = queue.Queue()
            reader = threading.Thread(target=_lines, args=(proc.stderr, lines), daemon=True)
            reader.start()
            complaints: list[str] = []
            try:
                expected = first
                while expected <= last:
                    if cancel is not None and cancel.is_set():
                        return
                    try:
                        line = lines.get(timeout=_CANCEL_CHECK_S)
                    except queue.Empty:
                        continue
                    if line is None:
                        reason = complaints[-1] if complaints else "poppler stopped early"
                        raise InputError.for_file(
                            path, f"page {expected} could not be rendered ({reason})"
                        )
                    parts = line.split(" ", 2)
                    if len(parts) != 3 or not parts[0].isdigit():
                        complaints.append(line.strip())
                        continue
                    file = Path(parts[2])
                    yield _load_page(file, f"{path.name} p.{int(parts[0])}")
                    file.unlink(missing_ok=True)
                    expected += 1
                    done += 1
                    if on_progress:
                        on_progress(done, total)
            finally:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
                reader.join(timeout=5)
                proc.stderr.close()
