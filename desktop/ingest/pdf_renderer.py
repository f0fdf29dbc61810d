"""PDF pages rendered by PDFium in a child process the app can kill.

A hostile or just enormous PDF can keep a renderer busy for minutes (nested
form XObjects multiply the work of every page), and PDFium cannot be
interrupted from inside. So it runs in its own process, started with
``python -m desktop.ingest.pdf_renderer``: the app sends one JSON request
per line on the child's stdin and reads a JSON reply line (then the page's
RGB bytes) from its stdout. A page over its time budget, or a cancel, kills
the child at once; the next request starts a fresh one.

The child watches its stdin on a thread of its own: when the parent dies
(however it dies, ``kill -9`` included) the pipe closes and the child exits
at once, even in the middle of a page, so nothing is left running. Pages
travel over the pipe, so there is no temporary folder to leave behind.

PDFium is not thread-safe, and one child renders one page at a time: every
request goes through the one renderer's lock.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

_POLL_S = 0.05


class RendererCancelled(Exception):
    """The caller cancelled; the child was killed."""


class RendererTimeout(Exception):
    """The request took longer than its budget; the child was killed."""


class PdfRejected(Exception):
    """PDFium could not do what was asked; ``password`` when the file is encrypted."""

    def __init__(self, detail: str, *, password: bool = False, document: bool = True) -> None:
        super().__init__(detail)
        self.password = password
        self.document = document
        """True when the document itself would not open (another reader may manage)."""


@dataclass(frozen=True, slots=True)
class RenderedPage:
    width: int
    height: int
    rgb: bytes


_Reply = tuple[dict[str, Any], bytes] | None


def _read_replies(stream: IO[bytes], out: queue.Queue[_Reply]) -> None:
    for line in stream:
        header: dict[str, Any] = json.loads(line)
        size = int(header.get("size", 0))
        payload = stream.read(size) if size else b""
        if len(payload) != size:
            break
        out.put((header, payload))
    out.put(None)


class PdfRenderer:
    """The app's one PDFium child: started on first use, killed on timeout or cancel."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._replies: queue.Queue[_Reply] = queue.Queue()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def page_count(self, path: Path, budget_s: float, cancel: threading.Event | None) -> int:
        header, _ = self._request({"op": "count", "path": str(path)}, budget_s, cancel)
        return int(header["pages"])

    def render(
        self,
        path: Path,
        page: int,
        max_side: int,
        budget_s: float,
        cancel: threading.Event | None,
    ) -> RenderedPage:
        request = {"op": "render", "path": str(path), "page": page, "max_side": max_side}
        header, rgb = self._request(request, budget_s, cancel)
        return RenderedPage(int(header["width"]), int(header["height"]), rgb)

    def close(self) -> None:
        with self._lock:
            self._kill()

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert proc.stdout is not None
        self._replies = queue.Queue()
        threading.Thread(
            target=_read_replies, args=(proc.stdout, self._replies), daemon=True
        ).start()
        self._proc = proc
        return proc

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()

    def _request(
        self, request: dict[str, Any], budget_s: float, cancel: threading.Event | None
    ) -> tuple[dict[str, Any], bytes]:
        with self._lock:
            proc = self._start()
            assert proc.stdin is not None
            try:
                proc.stdin.write(json.dumps(request).encode() + b"\n")
                proc.stdin.flush()
            except OSError:  # the child died since the last request: start again, once
                self._kill()
                proc = self._start()
                assert proc.stdin is not None
                proc.stdin.write(json.dumps(request).encode() + b"\n")
                proc.stdin.flush()
            deadline = time.monotonic() + budget_s
            while True:
                if cancel is not None and cancel.is_set():
                    self._kill()
                    raise RendererCancelled
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._kill()
                    raise RendererTimeout
                try:
                    reply = self._replies.get(timeout=min(_POLL_S, remaining))
                except queue.Empty:
                    continue
                if reply is None:
                    self._kill()
                    raise PdfRejected("the PDF renderer stopped unexpectedly", document=False)
                header, payload = reply
                if not header.get("ok"):
                    raise PdfRejected(
                        str(header.get("detail", "")),
                        password=bool(header.get("password")),
                        document=bool(header.get("document", True)),
                    )
                return header, payload


_renderer = PdfRenderer()
atexit.register(_renderer.close)


def renderer() -> PdfRenderer:
    """The process's one renderer (PDFium is not thread-safe: one child, one lock)."""
    return _renderer


# -- the child ----------------------------------------------------------------


class _Documents:
    """The last document opened, kept open while pages of the same file are asked for."""

    def __init__(self) -> None:
        self._key: tuple[str, int, int] | None = None
        self._doc: Any = None

    def get(self, path: str) -> Any:
        import pypdfium2 as pdfium

        stat = os.stat(path)
        key = (path, stat.st_mtime_ns, stat.st_size)
        if key != self._key:
            if self._doc is not None:
                self._doc.close()
            self._doc, self._key = None, None
            self._doc = pdfium.PdfDocument(path)
            self._key = key
        return self._doc


def _handle(request: dict[str, Any], documents: _Documents) -> tuple[dict[str, Any], bytes]:
    import pypdfium2 as pdfium

    try:
        doc = documents.get(request["path"])
    except (pdfium.PdfiumError, OSError) as exc:
        detail = str(exc)
        return {"ok": False, "detail": detail, "password": "password" in detail.lower()}, b""
    if request["op"] == "count":
        return {"ok": True, "pages": len(doc)}, b""
    try:
        page = doc[request["page"] - 1]
        width, height = page.get_size()
        scale = request["max_side"] / max(width, height, 1e-6)
        image = page.render(scale=scale).to_pil().convert("RGB")
        page.close()
    except (pdfium.PdfiumError, ValueError, IndexError) as exc:
        return {"ok": False, "detail": str(exc) or type(exc).__name__, "document": False}, b""
    rgb = image.tobytes()
    return {"ok": True, "width": image.width, "height": image.height, "size": len(rgb)}, rgb


def _serve() -> None:
    """Answer requests until the parent closes the pipe (or dies)."""
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # nothing else may reach the pipe
    requests: queue.Queue[dict[str, Any]] = queue.Queue()

    def watch_parent() -> None:
        for line in sys.stdin.buffer:
            requests.put(json.loads(line))
        os._exit(0)  # the parent is gone: leave now, even mid-page

    threading.Thread(target=watch_parent, daemon=True).start()
    documents = _Documents()
    while True:
        request = requests.get()
        try:
            header, payload = _handle(request, documents)
        except Exception as exc:  # a reply, whatever happened: the parent is waiting
            header, payload = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}, b""
        replies.write(json.dumps(header).encode() + b"\n" + payload)
        replies.flush()


if __name__ == "__main__":
    _serve()
