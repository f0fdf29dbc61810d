"""The one place an exception becomes the words a user sees.

Two kinds: errors the user can fix (a ``SightlineError``: its message already
names the file and the reason) and bugs (anything else: the traceback goes to
the log, the user gets a short apology and where the log is).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from desktop.paths import app_paths
from models.errors import SightlineError

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UserMessage:
    text: str
    exit_code: int
    is_bug: bool


def answer_ending(finish_reason: str | None, error: str | None = None) -> str | None:
    """How an answer ended, in the words every view uses; ``None`` for one that simply finished.

    The live footer, a reopened conversation, its export and the CLI all say
    it, so one ending reads the same wherever a person meets it.
    """
    if finish_reason == "cancelled":
        return "stopped by you"
    if finish_reason == "length":
        return "stopped at the length limit"
    if finish_reason in ("error", None):  # None: cut off before its end was recorded
        return f"stopped early: {error}" if error else "stopped early"
    return None


def describe_error(exc: BaseException) -> UserMessage:
    if isinstance(exc, SightlineError):
        return UserMessage(str(exc), exc.exit_code, is_bug=False)
    if isinstance(exc, MemoryError):
        return UserMessage("out of memory — try a smaller model or fewer pages", 1, is_bug=False)
    if isinstance(exc, OSError) and exc.errno == 28:  # ENOSPC
        return UserMessage(f"the disk is full ({exc.filename or 'writing'})", 1, is_bug=False)
    _log.error("unexpected error", exc_info=exc)
    return UserMessage(
        f"something went wrong inside Sightline ({type(exc).__name__}); "
        f"details are in {app_paths().log_file}",
        1,
        is_bug=True,
    )
