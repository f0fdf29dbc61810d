"""The one retry policy for cloud calls; the SDKs' own retries are switched off.

Exponential backoff with full jitter on rate limits, server errors, overload
and dropped connections, honouring the server's Retry-After, for a bounded
number of tries. A server that asks for a longer wait than we are willing to
sit through gets no more tries: the user is told when to come back instead.
Sleep and clock are injectable so tests run in no time.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from models.errors import ModelError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Transient:
    """A failure worth another try, as a backend understood it."""

    reason: str
    """What happened, for the user: "rate limited (429)"."""
    retry_after: float | None = None


class Cancelled(Exception):
    """The user stopped the turn while we were waiting to retry."""


class GaveUp(Exception):
    def __init__(self, last: Transient, tries: int) -> None:
        super().__init__(last.reason)
        self.last = last
        self.tries = tries


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait, from ``retry-after-ms`` (OpenAI) or ``retry-after`` (seconds or a date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _sleep_unless_cancelled(seconds: float, cancel: threading.Event | None) -> None:
    if cancel is None:
        time.sleep(seconds)
    else:
        cancel.wait(seconds)


@dataclass(slots=True)
class RetryPolicy:
    max_tries: int = 4
    base_delay: float = 1.0
    max_delay: float = 20.0
    max_retry_after: float = 60.0
    """A Retry-After longer than this ends the tries at once."""
    sleep: Callable[[float, threading.Event | None], None] = _sleep_unless_cancelled
    random: Callable[[], float] = field(default=random.random)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Wait before try ``attempt + 1``: the server's word, else full-jitter backoff."""
        if retry_after is not None:
            return retry_after
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling * (0.5 + self.random() / 2)

    def run(
        self,
        call: Callable[[], T],
        classify: Callable[[Exception], Transient | None],
        cancel: threading.Event | None = None,
    ) -> T:
        """``call`` until it succeeds, a failure is not transient, or tries run out.

        Non-transient failures propagate unchanged; running out raises
        ``GaveUp``; a cancel during a wait raises ``Cancelled``.
        """
        attempt = 0
        while True:
            attempt += 1
            try:
                return call()
            except Exception as exc:
                transient = classify(exc)
                if transient is None:
                    raise
                too_long = (
                    transient.retry_after is not None
                    and transient.retry_after > self.max_retry_after
                )
                if attempt >= self.max_tries or too_long:
                    raise GaveUp(transient, attempt) from exc
                self.sleep(self.delay(attempt, transient.retry_after), cancel)
                if cancel is not None and cancel.is_set():
                    raise Cancelled from exc


def _when(retry_after: float | None) -> str:
    if retry_after is None:
        return "in a minute or two"
    if retry_after < 90:
        return f"in {max(1, round(retry_after))} seconds"
    return f"in about {round(retry_after / 60)} minutes"


def gave_up_error(title: str, gave_up: GaveUp) -> ModelError:
    tries = f"{gave_up.tries} tries" if gave_up.tries > 1 else "1 try"
    return ModelError(
        f"{title}: {gave_up.last.reason}; gave up after {tries} — "
        f"try again {_when(gave_up.last.retry_after)}"
    )
