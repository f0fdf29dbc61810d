"""PDF pages become images, one at a time, as poppler finishes each.

pdf2image reads the page count and the document's state (pdfinfo). For
rendering, one ``pdftoppm`` process renders a whole run of pages into a
temporary folder and each page is handed on as soon as its file is complete,
so the first page reaches the model while later ones are still rendering,
without paying one process start per page. ``-scale-to`` fits each page's
longer side to what the model can use; cancelling kills the process.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pdf2image
from pdf2image.exceptions import PDFInfoNotInstalledError, PDFPageCountError, PDFSyntaxError
from PIL import Image

from models.conversation import ImagePart
from models.errors import InputError

_POLL_S = 0.005
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


def _page_file(folder: Path, page: int, last: int) -> Path | None:
    """pdftoppm pads page numbers to the width of the last one; find this page's file."""
    for width in range(len(str(last)), 7):
        candidate = folder / f"p-{page:0{width}d}.ppm"
        if candidate.exists():
            return candidate
    return None


def _load_page(file: Path, label: str) -> ImagePart:
    with Image.open(file) as img:
        rgb = img.convert("RGB")
        return ImagePart.from_rgb(rgb.width, rgb.height, rgb.tobytes(), label=label)


def render_pages(
    path: Path,
    pages: Sequence[int],
    max_side: int,
    cancel: threading.Event | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Iterator[ImagePart]:
    """Yield the pages in order as each is rendered; stop early (quietly) when cancelled."""
    if shutil.which("pdftoppm") is None:
        raise InputError.for_file(path, POPPLER_MISSING)
    total = len(pages)
    done = 0
    if on_progress:
        on_progress(0, total)
    for first, last in _runs(pages):
        with tempfile.TemporaryDirectory(prefix="sightline-pdf-") as tmp:
            folder = Path(tmp)
            errors = folder / "stderr.txt"
            with errors.open("wb") as err_out:
                proc = subprocess.Popen(
                    [
                        "pdftoppm",
                        "-f",
                        str(first),
                        "-l",
                        str(last),
                        "-scale-to",
                        str(max_side),
                        str(path),
                        str(folder / "p"),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=err_out,
                )
            try:
                for page in range(first, last + 1):
                    next_page = page + 1
                    while True:
                        if cancel is not None and cancel.is_set():
                            return
                        finished = proc.poll() is not None
                        # A page's file is complete once the next one exists or poppler exited.
                        if finished or (next_page <= last and _page_file(folder, next_page, last)):
                            break
                        time.sleep(_POLL_S)
                    file = _page_file(folder, page, last)
                    if file is None:
                        err = errors.read_text(errors="replace").strip()
                        reason = err.splitlines()[-1] if err else "no output"
                        raise InputError.for_file(
                            path, f"page {page} could not be rendered ({reason})"
                        )
                    yield _load_page(file, f"{path.name} p.{page}")
                    file.unlink()
                    done += 1
                    if on_progress:
                        on_progress(done, total)
            finally:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
