"""Writes to history, in order with the answers, announced when done.

Every write (a rename, a delete, an answer being saved) goes through one
connection used only on the model thread, so writes never race each other
or an answer that is still streaming. Views do not refresh after each call
they make: they listen to ``changed`` and refresh themselves.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from PySide6.QtCore import QObject, QThreadPool, Signal

from desktop.history.store import HistoryStore
from desktop.ui import worker
from models.backend import Usage
from models.conversation import ImagePart

R = TypeVar("R")


class HistoryWrites(QObject):
    changed = Signal()
    failed = Signal(object)

    def __init__(self, pool: QThreadPool) -> None:
        super().__init__()
        self.pool = pool
        self._writer: HistoryStore | None = None
        self.jobs = worker.Jobs()
        self.closed = False

    @property
    def writer(self) -> HistoryStore:
        """The writing connection, opened on the model thread's first write."""
        if self._writer is None:
            self._writer = HistoryStore.open()
        return self._writer

    def run(
        self, action: Callable[[HistoryStore], R], on_done: Callable[[R], None] | None = None
    ) -> worker.CallJob:
        def work(_cancel: threading.Event) -> R:
            return action(self.writer)

        job = worker.call(self.pool, work, on_done, self.failed.emit, self._announce)
        return self.jobs.track(job)

    def _announce(self) -> None:
        # A write finishing as the window closes must not send views to a closed store.
        if not self.closed:
            self.changed.emit()

    def close(self) -> None:
        self.closed = True
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def record_turn(
    store: HistoryStore,
    prompt: str,
    images: Sequence[ImagePart],
    answer: str,
    usage: Usage,
    *,
    model: str,
    backend: str,
    title: str,
) -> int:
    """Save a turn answered outside a conversation (the popup) as a new conversation."""
    cid = store.create_conversation(title=title, model=model)
    store.add_user_message(cid, prompt, images)
    with store.start_answer(cid, model, backend) as writer:
        writer.append(answer)
        writer.finish(usage)
    return cid
