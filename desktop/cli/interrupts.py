"""Ctrl-C that stops work politely: the first asks it to stop, a second one aborts."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

EXIT_INTERRUPTED = 130
"""The exit code of a command stopped by Ctrl-C (what it had done is kept)."""


@contextmanager
def interrupt_cancels(
    cancel: threading.Event, *, also: threading.Event | None = None
) -> Iterator[None]:
    """First Ctrl-C asks the model to stop (the partial answer is kept); a second one aborts.

    ``also`` is set by the same Ctrl-C, for work that stops at two depths: a
    batch stops taking files and cuts the requests it has in flight.
    """

    def handler(_signum: int, _frame: FrameType | None) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        if also is not None:
            also.set()

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
