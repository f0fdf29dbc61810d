"""The one retry policy: bounded, jittered, obedient to Retry-After, stoppable."""

from __future__ import annotations

import threading
from email.utils import formatdate

import pytest

from models.cloud.retry import (
    Cancelled,
    GaveUp,
    RetryPolicy,
    Transient,
    gave_up_error,
    parse_retry_after,
)


def test_retry_after_is_read_in_seconds_milliseconds_or_as_a_date() -> None:
    assert parse_retry_after({"Retry-After": "12"}) == 12.0
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    now = 1_800_000_000.0
    assert parse_retry_after({"retry-after": formatdate(now + 30, usegmt=True)}, now) == 30.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_waits_grow_exponentially_with_jitter_and_a_ceiling() -> None:
    low = RetryPolicy(random=lambda: 0.0, max_delay=5.0)
    high = RetryPolicy(random=lambda: 1.0, max_delay=5.0)
    assert [low.delay(a, None) for a in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 2.5, 2.5]
    assert [high.delay(a, None) for a in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert low.delay(1, 8.0) == 8.0


def test_only_transient_failures_are_tried_again_and_only_so_often() -> None:
    calls: list[int] = []
    waits: list[float] = []
    policy = RetryPolicy(max_tries=3, sleep=lambda s, c: waits.append(s), random=lambda: 0.5)

    def flaky() -> str:
        calls.append(1)
        raise ConnectionError("down")

    with pytest.raises(GaveUp) as gave_up:
        policy.run(flaky, lambda e: Transient("the connection was lost"))
    assert len(calls) == 3
    assert waits == [0.75, 1.5]
    assert str(gave_up_error("OpenAI", gave_up.value)) == (
        "OpenAI: the connection was lost; gave up after 3 tries — try again in a minute or two"
    )

    with pytest.raises(ValueError, match="bad request"):
        policy.run(lambda: (_ for _ in ()).throw(ValueError("bad request")), lambda e: None)


def test_stop_during_a_wait_ends_the_retries() -> None:
    cancel = threading.Event()
    policy = RetryPolicy(sleep=lambda s, c: cancel.set())

    def failing() -> None:
        raise ConnectionError

    with pytest.raises(Cancelled):
        policy.run(failing, lambda e: Transient("x"), cancel)
