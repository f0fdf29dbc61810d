"""The log file: where native llama.cpp output and tracebacks go, never the terminal.

Logging must never become the failure: on a full disk (or an unwritable log
folder) Python's handlers print a "--- Logging error ---" traceback to
stderr for every record. Ours keep the records they could not write in
memory instead (the newest ones, bounded), and the terminal stays quiet.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import logging.handlers

from desktop.paths import app_paths
from desktop.redact import RedactingFilter

_configured: dict[str, logging.Handler] = {}
_KEPT_IN_MEMORY = 1000


class QuietFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file that keeps what it could not write in memory, silently."""

    def __init__(self, filename: str) -> None:
        super().__init__(filename, maxBytes=5_000_000, backupCount=3, encoding="utf-8", delay=True)
        self.unwritten: collections.deque[logging.LogRecord] = collections.deque(
            maxlen=_KEPT_IN_MEMORY
        )

    def handleError(self, record: logging.LogRecord) -> None:
        self.unwritten.append(record)

    def close(self) -> None:
        with contextlib.suppress(OSError):  # what is still buffered cannot be written either
            super().close()


def configure_logging(level: int = logging.INFO) -> None:
    """Send all of Sightline's logging to a rotating file under the log folder.

    Re-pointed when ``SIGHTLINE_HOME`` changes between calls (tests do that).
    The file is opened on the first record, so a full disk costs nothing here.
    """
    path = app_paths().log_file
    key = str(path)
    if key in _configured:
        return
    with contextlib.suppress(OSError):  # unwritable: the handler keeps records in memory
        path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for old in _configured.values():
        root.removeHandler(old)
        old.close()
    _configured.clear()
    handler = QuietFileHandler(key)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(level)
    _configured[key] = handler
