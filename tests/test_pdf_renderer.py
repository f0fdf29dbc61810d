"""PDF pages rendered by PDFium in a child process that a budget, a cancel or a dead parent ends."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from desktop.ingest import ingest_file, pdf_page_count
from desktop.ingest.pdf import render_pages
from desktop.ingest.pdf_renderer import renderer
from models.errors import InputError
from tests import corpus
from tests.pdf_bombs import nested_xobject_bomb

REPO = Path(__file__).resolve().parent.parent


def _gone(pid: int, within_s: float = 20.0) -> bool:
    """Whether ``pid`` exits (or is only a zombie) within ``within_s``."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def test_a_render_bomb_ends_within_its_budget_naming_the_page(tmp_path: Path) -> None:
    bomb = nested_xobject_bomb(tmp_path / "bomb.pdf")
    assert bomb.stat().st_size < 10_000
    with pytest.raises(InputError, match=r"page 1 of .*bomb\.pdf took too long to render"):
        list(render_pages(bomb, [1], 800, budget_s=0.5))
    assert renderer().pid is None, "the busy child was killed"
    page = next(render_pages(corpus.pdf(tmp_path / "ok.pdf", pages=1), [1], 200, budget_s=30))
    assert max(page.width, page.height) == 200, "the next request gets a fresh renderer"


def test_the_budget_comes_from_the_settings(sightline_home: Path, tmp_path: Path) -> None:
    (sightline_home / "config").mkdir(parents=True, exist_ok=True)
    (sightline_home / "config" / "config.toml").write_text("pdf_page_budget_s = 0.5\n")
    bomb = nested_xobject_bomb(tmp_path / "bomb.pdf")
    with pytest.raises(InputError, match=r"over 0\.5 s"):
        list(ingest_file(bomb, max_side=800))


def test_cancel_kills_the_renderer_at_once(tmp_path: Path) -> None:
    bomb = nested_xobject_bomb(tmp_path / "bomb.pdf")
    cancel = threading.Event()
    pages: list[object] = []
    worker = threading.Thread(
        target=lambda: pages.extend(render_pages(bomb, [1], 800, cancel, budget_s=600))
    )
    worker.start()
    while renderer().pid is None:
        time.sleep(0.01)
    pid = renderer().pid
    assert pid is not None
    cancel.set()
    worker.join(timeout=20)
    assert not worker.is_alive(), "the render returned after cancel"
    assert pages == [], "a cancel is quiet: no page, no error"
    assert _gone(pid)


_PARENT = """
import sys, threading, time
from pathlib import Path
from desktop.ingest.pdf import render_pages
from desktop.ingest.pdf_renderer import renderer
bomb = Path(sys.argv[1])
threading.Thread(target=lambda: list(render_pages(bomb, [1], 800, budget_s=600))).start()
while renderer().pid is None:
    time.sleep(0.01)
print(renderer().pid, flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_the_renderer_exits_when_its_parent_is_killed(tmp_path: Path) -> None:
    bomb = nested_xobject_bomb(tmp_path / "bomb.pdf")
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT, str(bomb)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(private_tmp)},
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert not _gone(child, within_s=0.5), "the child is rendering"
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=30)
    assert _gone(child), "the renderer noticed its parent died and left"
    assert list(private_tmp.iterdir()) == [], "no temporary folder is left behind"


def test_pages_stream_from_pdfium_with_progress(tmp_path: Path) -> None:
    path = corpus.pdf(tmp_path / "report.pdf", pages=4)
    assert pdf_page_count(path) == 4
    progress: list[tuple[int, int]] = []
    parts = render_pages(path, [4, 1], 300, on_progress=lambda d, t: progress.append((d, t)))
    first = next(parts)
    assert first.label == "report.pdf p.4"
    assert progress == [(0, 2)], "the first page is handed on before the next is rendered"
    assert [p.label for p in parts] == ["report.pdf p.1"]


def test_threads_share_one_renderer(tmp_path: Path) -> None:
    path = corpus.pdf(tmp_path / "many.pdf", pages=3, size=(200, 260))
    results: list[int] = []

    def read() -> None:
        results.append(len(list(render_pages(path, [1, 2, 3], 100))))

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results == [3, 3, 3, 3]


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler is not installed")
def test_poppler_reads_what_pdfium_rejects(tmp_path: Path) -> None:
    import pypdfium2 as pdfium

    good = corpus.pdf(tmp_path / "good.pdf", pages=2).read_bytes()
    odd = tmp_path / "odd.pdf"
    odd.write_bytes(b" " * 2048 + good)  # poppler looks further for the header than PDFium
    with pytest.raises(pdfium.PdfiumError):
        pdfium.PdfDocument(str(odd))
    assert pdf_page_count(odd) == 2
    parts = list(render_pages(odd, [1, 2], 150))
    assert [p.label for p in parts] == ["odd.pdf p.1", "odd.pdf p.2"]
    assert max(parts[0].width, parts[0].height) == 150
