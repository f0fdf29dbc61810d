"""Ingestion speed: big JPEGs and long PDFs, against the obvious way of doing it.

    python3 bench/bench_ingest.py [--runs 5]

(a) a 24-megapixel JPEG to a 672 px model-ready image, vs a naive full
decode + resize; (b) a 20-page PDF: first page ready vs all pages, and all
pages vs one plain ``pdftoppm`` run at the same scale; (c) the PDF renderer,
PDFium in its child process vs the previous one (``pdftoppm`` streaming runs
of pages, still the second reader): first page of the 20-page file from a
cold start (renderer not yet running) and warm, all 20 pages, and a
500-page text file from opening to its first page. Medians, side by side.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from PIL import Image, ImageDraw

from desktop.ingest import ingest_file
from desktop.ingest.pdf import pdf_page_count, poppler_page_count, poppler_pages, render_pages
from desktop.ingest.pdf_renderer import renderer

MAX_SIDE = 672


def make_photo(path: Path) -> None:
    """6000x4000 with noise and structure, so JPEG decoding costs what a real photo costs."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (400, 600, 3), dtype=np.uint8)
    img = Image.fromarray(base).resize((6000, 4000), Image.Resampling.BILINEAR)
    noise = rng.integers(-12, 12, (4000, 6000, 3), dtype=np.int16)
    arr = np.clip(np.asarray(img, dtype=np.int16) + noise, 0, 255).astype(np.uint8)
    Image.fromarray(arr).save(path, "JPEG", quality=92)


def make_pdf(path: Path, pages: int = 20) -> None:
    images = []
    for n in range(pages):
        img = Image.new("RGB", (1275, 1650), "white")  # letter at 150 dpi
        draw = ImageDraw.Draw(img)
        for row in range(40):
            draw.text(
                (100, 100 + row * 35),
                f"Page {n + 1} line {row} " + "lorem ipsum " * 8,
                fill="black",
            )
        draw.rectangle((900, 1300, 1200, 1600), fill=(30, 100, 200))
        images.append(img)
    images[0].save(path, "PDF", save_all=True, append_images=images[1:], resolution=150)


def make_text_pdf(path: Path, pages: int) -> None:
    """A long text document (a manual, a thesis): real fonts, one content stream per page."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    font = 3
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    kids = []
    for n in range(pages):
        lines = b" ".join(
            b"(Page %d, line %d: lorem ipsum dolor sit amet, consectetur.) Tj 0 -16 Td" % (n, row)
            for row in range(44)
        )
        data = b"BT /F1 11 Tf 60 740 Td " + lines + b" ET"
        content = len(objects) + 1
        objects.append(b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream")
        kids.append(len(objects) + 1)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
            b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (content, font)
        )
    refs = b" ".join(b"%d 0 R" % k for k in kids)
    objects[1] = b"<< /Type /Pages /Kids [" + refs + b"] /Count %d >>" % pages
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path.write_bytes(bytes(out))


def pdfium_first(path: Path, cold: bool) -> None:
    if cold:
        renderer().close()
    pages = pdf_page_count(path, budget_s=60)
    next(render_pages(path, range(1, min(pages, 20) + 1), MAX_SIDE, budget_s=60))


def poppler_first(path: Path) -> None:
    pages = poppler_page_count(path)
    next(poppler_pages(path, range(1, min(pages, 20) + 1), MAX_SIDE, None, None))


def pdfium_all(path: Path) -> None:
    list(render_pages(path, range(1, 21), MAX_SIDE, budget_s=60))


def poppler_all(path: Path) -> None:
    list(poppler_pages(path, range(1, 21), MAX_SIDE, None, None))


def naive(path: Path) -> None:
    with Image.open(path) as opened:
        img = opened.convert("RGB")
        img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS, reducing_gap=None)


def timed(fn: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def pdf_times(path: Path) -> tuple[float, float]:
    start = time.perf_counter()
    first = 0.0
    for i, _ in enumerate(ingest_file(path, max_side=MAX_SIDE)):
        if i == 0:
            first = time.perf_counter() - start
    return first * 1000, (time.perf_counter() - start) * 1000


def plain_pdftoppm(path: Path) -> None:
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            ["pdftoppm", "-f", "1", "-l", "20", "-scale-to", str(MAX_SIDE), str(path), f"{out}/p"],
            check=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        photo, pdf = Path(tmp) / "photo.jpg", Path(tmp) / "doc.pdf"
        make_photo(photo)
        make_pdf(pdf)
        ours_jpeg = timed(lambda: list(ingest_file(photo, max_side=MAX_SIDE)), args.runs)
        naive_jpeg = timed(lambda: naive(photo), args.runs)
        long_pdf = Path(tmp) / "long.pdf"
        make_text_pdf(long_pdf, 500)
        renderers = [
            ("20-page PDF: first page, cold", lambda: pdfium_first(pdf, True), poppler_first, pdf),
            ("20-page PDF: first page, warm", lambda: pdfium_first(pdf, False), poppler_first, pdf),
            ("20-page PDF: all 20 pages", lambda: pdfium_all(pdf), poppler_all, pdf),
            (
                "500-page PDF: open to first page",
                lambda: pdfium_first(long_pdf, False),
                poppler_first,
                long_pdf,
            ),
        ]
        renderer_rows = []
        for label, new, old, doc in renderers:
            new_ms, old_ms = [], []
            for _ in range(args.runs):  # interleaved
                new_ms.append(timed(new, 1))
                old_ms.append(timed(lambda d=doc, o=old: o(d), 1))  # type: ignore[misc]
            renderer_rows.append((label, statistics.median(new_ms), statistics.median(old_ms)))
        firsts, alls, plains = [], [], []
        for _ in range(args.runs):  # interleaved
            f, a = pdf_times(pdf)
            firsts.append(f)
            alls.append(a)
            plains.append(timed(lambda: plain_pdftoppm(pdf), 1))
    first, total, plain = (statistics.median(x) for x in (firsts, alls, plains))
    print(f"{args.runs} runs, medians, max side {MAX_SIDE}px")
    print(f"{'measure':<44}{'ms':>9}{'baseline ms':>13}{'ratio':>8}")
    rows = [
        ("24 MP JPEG -> model image vs naive decode", ours_jpeg, naive_jpeg),
        ("20-page PDF: first page vs all pages", first, total),
        ("20-page PDF: all pages vs plain pdftoppm", total, plain),
    ]
    for label, value, baseline in rows:
        print(f"{label:<44}{value:>9.1f}{baseline:>13.1f}{value / baseline:>8.3f}")
    print()
    print(f"{'PDF renderer':<44}{'PDFium ms':>11}{'pdftoppm ms':>13}{'ratio':>8}")
    for label, value, baseline in renderer_rows:
        print(f"{label:<44}{value:>11.1f}{baseline:>13.1f}{value / baseline:>8.3f}")


if __name__ == "__main__":
    main()
