"""One worker pattern for all background work: a generator run on a thread pool.

Each item the generator yields arrives on the GUI thread as a signal, so a
streamed token, a rendered page or a download chunk updates the window
without the GUI thread ever waiting. Stop sets the job's event, which every
engine generator takes and honours within one token, page or chunk, ending
with what it has (a partial answer keeps its usage).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class Job(QObject):
    """Lives on the GUI thread; its signals carry the worker's results there."""

    item = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.cancel = threading.Event()
        self.running = True

    def stop(self) -> None:
        self.cancel.set()


class _Runner(QRunnable):
    def __init__(self, job: Job, work: Callable[[threading.Event], Iterator[Any]]) -> None:
        super().__init__()
        self.job = job
        self.work = work
        self.setAutoDelete(True)

    def run(self) -> None:
        job = self.job
        stream = None
        try:
            stream = self.work(job.cancel)
            for value in stream:
                job.item.emit(value)
        except BaseException as exc:  # every failure goes to the GUI, where it becomes words
            job.failed.emit(exc)
        finally:
            if stream is not None:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
            job.running = False
            job.finished.emit()


def start(
    pool: QThreadPool,
    work: Callable[[threading.Event], Iterator[Any]],
    on_item: Callable[[Any], None] | None = None,
    on_failed: Callable[[BaseException], None] | None = None,
    on_finished: Callable[[], None] | None = None,
) -> Job:
    job = Job()
    if on_item:
        job.item.connect(on_item)
    if on_failed:
        job.failed.connect(on_failed)
    if on_finished:
        job.finished.connect(on_finished)
    pool.start(_Runner(job, work))
    return job


def relay(call: Callable[[Callable[[Any], None]], Any]) -> Iterator[tuple[str, Any]]:
    """Turn a call that reports by callback into items: ("progress", x)…, then ("done", result).

    The call runs on its own thread so its progress reaches the window while
    it is still running, not all at once at the end.
    """
    box: queue.Queue[tuple[str, Any]] = queue.Queue()

    def target() -> None:
        try:
            box.put(("done", call(lambda value: box.put(("progress", value)))))
        except BaseException as exc:
            box.put(("error", exc))

    threading.Thread(target=target, daemon=True).start()
    while True:
        kind, value = box.get()
        if kind == "error":
            raise value
        yield kind, value
        if kind == "done":
            return
