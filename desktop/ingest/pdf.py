"""PDF pages become images, one at a time, as poppler finishes each.

pdf2image reads the page count and the document's state (pdfinfo). For
rendering, one ``pdftoppm`` process renders a whole run of pages into a
temporary folder and each page is handed on as soon as its file is complete,
so the first page reaches the model while later ones are still rendering,
without paying one process start per page (pdf2image's ``convert_from_path``
returns only when every page is done). ``-scale-to`` fits each page's
longer side to what the model can use; cancelling kills the process.
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

from models.conversation import ImagePart
from models.errors import InputError

_CANCEL_CHECK_S = 0.05
POPPLER_MISSING = (
    "reading PDFs needs poppler — install it (`apt install poppler-utils`, "
    "`brew install poppler`, or poppler for Windows)"
)


def pdf_page_count(path: Path) -> int:
    try:
        info = pdf2image.pdfinfo_from_path(str(path), timeout=60)
    except PDFInfoNotInstalledError as exc:
        raise InputError.for_file(path, POPPLER_MISSING) from exc
    except (PDFPageCountError, PDFSyntaxError) as exc:
        detail = str(exc).lower()
        if "password" in detail or "encrypt" in detail:
            raise InputError.for_file(
                path, "the PDF is password-protected — remove the password and try again"
            ) from exc
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
) -> Iterator[ImagePart]:
    """Yield the pages in order as each is rendered; stop early (quietly) when cancelled.

    ``pdftoppm -progress`` reports each page once its file is written; a
    reader thread turns those lines into a queue, so waiting for the next
    page never polls the disk and a cancel is seen within ``_CANCEL_CHECK_S``.
    """
    if shutil.which("pdftoppm") is None:
        raise InputError.for_file(path, POPPLER_MISSING)
    total = len(pages)
    done = 0
    if on_progress:
        on_progress(0, total)
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
