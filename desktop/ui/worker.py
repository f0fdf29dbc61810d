"""Background work in two shapes, both cancellable, results delivered by signal.

A *stream* runs a generator on a thread pool: each item it yields reaches
the GUI thread as a signal, so a streamed token or a rendered page updates
the window while the work goes on. A *call* runs a function once and
delivers its return value; it may report progress on the way (a download's
bytes). Either way the GUI thread never waits, failures arrive as the
exception itself (the window turns it into words), and ``stop()`` sets the
event every engine loop takes and honours within one token, page or chunk.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

T = TypeVar("T")
R = TypeVar("R")
P = TypeVar("P")


class Job(QObject):
    """Lives on the GUI thread; its signals carry the worker's results there."""

    failed = Signal(object)
    finished = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.cancel = threading.Event()
        self.running = True
        # Set on the GUI thread, after every item and result before it has arrived there.
        self.finished.connect(self._ended)

    def _ended(self) -> None:
        self.running = False

    def stop(self) -> None:
        self.cancel.set()


class StreamJob(Job):
    item = Signal(object)


class CallJob(Job):
    done = Signal(object)
    progress = Signal(object)


class _Runner(QRunnable):
    def __init__(self, job: Job, body: Callable[[], None]) -> None:
        super().__init__()
        self.job = job
        self.body = body
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            self.body()
        except BaseException as exc:  # every failure goes to the GUI, where it becomes words
            self.job.failed.emit(exc)
        finally:
            self.job.finished.emit()


def model_thread(parent: QObject) -> QThreadPool:
    """The pool whose one thread runs all model work: only that thread touches the model
    (the host's one rule), so a turn, a popup and a batch never load or run it at once."""
    pool = QThreadPool(parent)
    pool.setMaxThreadCount(1)
    return pool


def _connect(
    job: Job,
    on_failed: Callable[[BaseException], None] | None,
    on_finished: Callable[[], None] | None,
) -> None:
    if on_failed is not None:
        job.failed.connect(on_failed)
    if on_finished is not None:
        job.finished.connect(on_finished)


def stream(
    pool: QThreadPool,
    work: Callable[[threading.Event], Iterator[T]],
    on_item: Callable[[T], None] | None = None,
    on_failed: Callable[[BaseException], None] | None = None,
    on_finished: Callable[[], None] | None = None,
) -> StreamJob:
    """Run a generator; each yielded item arrives through ``on_item`` on the GUI thread."""
    job = StreamJob()
    if on_item is not None:
        job.item.connect(on_item)
    _connect(job, on_failed, on_finished)

    def body() -> None:
        items = work(job.cancel)
        try:
            for value in items:
                job.item.emit(value)
        finally:
            close: Any = getattr(items, "close", None)
            if close is not None:
                close()

    pool.start(_Runner(job, body))
    return job


def call(
    pool: QThreadPool,
    work: Callable[[threading.Event], R],
    on_done: Callable[[R], None] | None = None,
    on_failed: Callable[[BaseException], None] | None = None,
    on_finished: Callable[[], None] | None = None,
) -> CallJob:
    """Run a function once; its return value arrives through ``on_done``."""
    return call_reporting(
        pool, lambda cancel, _report: work(cancel), None, on_done, on_failed, on_finished
    )


def call_reporting(
    pool: QThreadPool,
    work: Callable[[threading.Event, Callable[[P], None]], R],
    on_progress: Callable[[P], None] | None = None,
    on_done: Callable[[R], None] | None = None,
    on_failed: Callable[[BaseException], None] | None = None,
    on_finished: Callable[[], None] | None = None,
) -> CallJob:
    """A call that reports progress while it runs (each report is a queued signal)."""
    job = CallJob()
    if on_progress is not None:
        job.progress.connect(on_progress)
    if on_done is not None:
        job.done.connect(on_done)
    _connect(job, on_failed, on_finished)

    def body() -> None:
        job.done.emit(work(job.cancel, job.progress.emit))

    pool.start(_Runner(job, body))
    return job


J = TypeVar("J", bound=Job)


class Jobs:
    """The jobs still running, so closing a window can stop them all."""

    def __init__(self) -> None:
        self._running: set[Job] = set()

    def track(self, job: J) -> J:
        self._running.add(job)
        job.finished.connect(lambda: self._running.discard(job))
        return job

    def stop_all(self) -> None:
        for job in list(self._running):
            job.stop()

    def __len__(self) -> int:
        return len(self._running)
