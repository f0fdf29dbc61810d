"""A question asked again gets its answer from the cache, instantly, and says so."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from desktop.response_cache import (
    CachingBackend,
    ResponseCache,
    cache_file,
    cache_wanted,
    key_for,
    replay,
)
from models.backend import Event, GenParams, Usage
from models.cloud.openai_backend import OpenAIBackend
from models.cloud.retry import RetryPolicy
from models.conversation import Message, TextPart
from models.errors import StorageError
from tests.cli_runner import sightline
from tests.cloud_helpers import files_containing
from tests.cloud_standins import ANSWER, Standin
from tests.images import image_part

RED = image_part((200, 0, 0))
BLUE = image_part((0, 0, 200))


def _ask(image: object = RED, text: str = "What is it?") -> list[Message]:
    return [Message("user", (image, TextPart(text)))]  # type: ignore[arg-type]


def test_the_key_changes_with_everything_that_decides_an_answer() -> None:
    base = key_for("openai", "openai:gpt-4o", _ask(), GenParams())

    assert key_for("openai", "openai:gpt-4o", _ask(), GenParams()) == base
    variants = [
        key_for("anthropic", "openai:gpt-4o", _ask(), GenParams()),
        key_for("openai", "openai:gpt-4.1", _ask(), GenParams()),
        key_for("openai", "openai:gpt-4o", _ask(BLUE), GenParams()),
        key_for("openai", "openai:gpt-4o", _ask(text="What is it ?"), GenParams()),
        key_for("openai", "openai:gpt-4o", [Message.text("system", "hi"), *_ask()], GenParams()),
        key_for("openai", "openai:gpt-4o", _ask(), GenParams(temperature=0.7)),
        key_for("openai", "openai:gpt-4o", _ask(), GenParams(max_tokens=100)),
    ]
    assert len({base, *variants}) == len(variants) + 1


def test_a_relabelled_copy_of_the_same_pixels_is_the_same_question() -> None:
    copy = replace(RED, label="another-name.png")
    assert key_for("x", "m", _ask(copy), GenParams()) == key_for("x", "m", _ask(), GenParams())


def test_an_answer_kept_in_the_older_format_still_replays(tmp_path: Path) -> None:
    """Rows written when ``Usage`` had a free-form ``extra`` dict load without it."""
    path = tmp_path / "responses.sqlite"
    ResponseCache(path).close()
    old = {"completion_tokens": 4, "finish_reason": "stop", "extra": {"cost_usd": 0.01}}
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO responses VALUES (?, ?, ?, ?)", ("a", "Kept.", json.dumps(old), 0.0)
        )

    cache = ResponseCache(path)
    hit = cache.get("a")
    cache.close()
    assert hit is not None
    events = list(replay(hit))

    assert events[0] == "Kept."
    usage = events[-1]
    assert isinstance(usage, Usage)
    assert (usage.completion_tokens, usage.from_cache, usage.cost_usd) == (4, True, 0.0)


def test_only_finished_answers_are_kept() -> None:
    cache = ResponseCache()

    assert cache.put("a", "The whole answer.", Usage(completion_tokens=4))
    assert not cache.put("b", "The half", Usage(finish_reason="error", error="broke off"))
    assert not cache.put("c", "The", Usage(finish_reason="cancelled"))

    hit = cache.get("a")
    assert hit is not None
    assert hit.text == "The whole answer."
    assert hit.usage.completion_tokens == 4
    assert cache.get("b") is None
    assert cache.get("c") is None
    assert cache.clear() == 1
    assert cache.get("a") is None


def test_the_cache_is_on_for_deterministic_presets_and_optional_otherwise() -> None:
    assert cache_wanted(preset=True, temperature=0.0)
    assert not cache_wanted(preset=True, temperature=0.0, no_cache=True)
    assert not cache_wanted(preset=True, temperature=0.7)
    assert not cache_wanted(preset=False, temperature=0.0)
    assert cache_wanted(preset=False, temperature=0.7, opted_in=True)
    assert not cache_wanted(preset=False, temperature=0.7, opted_in=True, no_cache=True)


def test_a_repeated_cloud_question_is_answered_from_the_cache_and_says_so(
    start_standin: Callable[..., Standin], quick_retries: RetryPolicy, sightline_home: Path
) -> None:
    standin = start_standin("openai")
    backend = CachingBackend(
        OpenAIBackend("gpt-4o", standin.key, standin.url, policy=quick_retries), ResponseCache()
    )

    first: list[Event] = list(backend.stream(_ask(), GenParams()))
    again: list[Event] = list(backend.stream(_ask(), GenParams()))

    assert len(standin.received) == 1
    assert "".join(e for e in again if isinstance(e, str)) == "".join(ANSWER)
    first_usage, cached_usage = first[-1], again[-1]
    assert isinstance(first_usage, Usage)
    assert isinstance(cached_usage, Usage)
    assert not first_usage.from_cache
    assert (first_usage.cost_usd or 0) > 0
    assert cached_usage.from_cache
    assert cached_usage.cost_usd == 0.0
    assert cached_usage.completion_tokens == first_usage.completion_tokens

    list(backend.stream(_ask(BLUE), GenParams()))
    assert len(standin.received) == 2
    assert files_containing(sightline_home, standin.key.encode()) == []


def test_a_stream_cut_mid_answer_is_not_served_again(
    start_standin: Callable[..., Standin], quick_retries: RetryPolicy
) -> None:
    standin = start_standin("openai", cut_after=2)
    backend = CachingBackend(
        OpenAIBackend("gpt-4o", standin.key, standin.url, policy=quick_retries), ResponseCache()
    )

    list(backend.stream(_ask(), GenParams()))
    list(backend.stream(_ask(), GenParams()))

    assert len(standin.received) == 2


def test_cache_clear_empties_the_cache(cli_env: dict[str, str]) -> None:
    cache = ResponseCache()
    cache.put("k1", "one", Usage())
    cache.put("k2", "two", Usage())
    cache.close()

    done = sightline(cli_env, "cache", "clear")

    assert done.returncode == 0, done.stderr
    assert "cleared 2 cached answers" in done.stderr
    again = ResponseCache()
    assert again.get("k1") is None
    assert cache_file().exists()


def test_clearing_a_cache_that_was_never_made_is_fine(cli_env: dict[str, str]) -> None:
    done = sightline(cli_env, "cache", "clear")

    assert done.returncode == 0
    assert "already empty" in done.stderr


def test_an_unreadable_cache_file_is_a_clear_storage_error(sightline_home: Path) -> None:
    path = sightline_home / "cache" / "responses.sqlite3"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database" * 100)

    with pytest.raises(
        StorageError, match=r"responses\.sqlite3: the response cache cannot be opened"
    ):
        ResponseCache()
