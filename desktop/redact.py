"""Keeping API keys out of logs and error text.

Every key the app reads or stores is registered here (``desktop.keys`` does
it), and the log handlers carry ``RedactingFilter``, which rewrites each
record's message, arguments and formatted traceback before it is written.
Registering is process-wide: a key seen once is scrubbed for the rest of
the process, even after it is deleted.
"""

from __future__ import annotations

import logging
import threading

MASK = "[redacted]"
_MIN_SECRET = 8
"""Shorter strings would scrub ordinary words; no provider issues keys that short."""

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(secret: str | None) -> None:
    if secret and len(secret) >= _MIN_SECRET:
        with _lock:
            _secrets.add(secret)


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Attach to a handler: records from every logger pass through it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
