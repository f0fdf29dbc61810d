"""What every backend's stream does the same way, because one relay decides it.

Real backends against their loopback stand-ins: a broken stream keeps what
arrived and counts it, a stop ends it within one piece, and an answer
the model never finished is said to be unfinished.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from models.backend import Backend, GenParams, Usage
from models.cloud.openai_backend import OpenAIBackend
from models.cloud.retry import RetryPolicy
from models.conversation import Message, TextPart
from models.errors import ModelError
from models.llamacpp import LlamaCppBackend
from models.ollama_backend import OllamaBackend
from models.openai_compat_backend import OpenAICompatBackend
from models.stream_relay import vision_refusal
from tests.cloud_standins import ANSWER, Standin
from tests.images import image_part
from tests.ollama_standin import OllamaStandin, StandinModel


@pytest.fixture
def ollama() -> Iterator[OllamaStandin]:
    standin = OllamaStandin(
        {"llava:7b": StandinModel(vision=True), "llama3.2:3b": StandinModel(vision=False)}
    ).start()
    yield standin
    standin.stop()


@pytest.fixture
def openai_standin(start_standin: Callable[..., Standin]) -> Standin:
    return start_standin("openai")


def _ask(backend: Backend, cancel: threading.Event | None = None) -> tuple[list[str], Usage]:
    pieces: list[str] = []
    usage = None
    for event in backend.stream([Message.text("user", "Go on.")], GenParams(max_tokens=40), cancel):
        if isinstance(event, Usage):
            usage = event
        else:
            pieces.append(event)
            if cancel is not None and len(pieces) == 2:
                cancel.set()
    assert usage is not None
    return pieces, usage


def test_a_broken_ollama_stream_counts_what_arrived(ollama: OllamaStandin) -> None:
    ollama.cut_after = 3
    backend = OllamaBackend(ollama.url, "llava:7b")
    try:
        pieces, usage = _ask(backend)
    finally:
        backend.close()
    assert pieces == ["A ", "red ", "square "]
    assert usage.finish_reason == "error"
    assert usage.error is not None
    assert usage.ttft_ms > 0
    assert (usage.completion_tokens, usage.completion_tokens_estimated) == (3, True)
    assert usage.tokens_per_s > 0


def test_a_reported_count_is_not_an_estimate(ollama: OllamaStandin) -> None:
    backend = OllamaBackend(ollama.url, "llava:7b")
    try:
        _, usage = _ask(backend)
    finally:
        backend.close()
    assert usage.finish_reason == "stop"
    assert usage.completion_tokens > 0
    assert not usage.completion_tokens_estimated


def test_a_broken_cloud_stream_counts_what_arrived(openai_standin: Standin) -> None:
    openai_standin.cut_after = 2
    backend = OpenAIBackend(
        "gpt-4.1-mini", openai_standin.key, openai_standin.url, policy=RetryPolicy(max_tries=1)
    )
    try:
        pieces, usage = _ask(backend)
    finally:
        backend.close()
    assert pieces == ANSWER[:2]
    assert usage.finish_reason == "error"
    assert (usage.completion_tokens, usage.completion_tokens_estimated) == (2, True)


@pytest.mark.parametrize("kind", ["ollama", "embedded"])
def test_stop_ends_every_backend_within_one_piece(
    kind: str, ollama: OllamaStandin, vlm_text_only: Any
) -> None:
    backend: Backend
    if kind == "ollama":
        ollama.chunk_delay = 0.05
        backend = OllamaBackend(ollama.url, "llava:7b")
    else:
        backend = LlamaCppBackend(vlm_text_only.model, None, n_ctx=512, n_threads=1)
    try:
        pieces, usage = _ask(backend, threading.Event())
        assert len(pieces) == 2
        assert usage.finish_reason == "cancelled"
        assert usage.completion_tokens >= 2
        again, usage = _ask(backend)  # the stopped stream was closed: the next turn runs
        assert again
        assert usage.finish_reason in ("stop", "length")
    finally:
        backend.close()


@pytest.mark.parametrize("kind", ["embedded", "ollama", "openai-compat"])
def test_every_backend_refuses_images_it_cannot_see_in_one_wording(
    kind: str, ollama: OllamaStandin, openai_standin: Standin, vlm_text_only: Any
) -> None:
    backend: Backend
    if kind == "embedded":
        backend = LlamaCppBackend(vlm_text_only.model, None, n_ctx=512, n_threads=1)
    elif kind == "ollama":
        backend = OllamaBackend(ollama.url, "llama3.2:3b")
    else:
        backend = OpenAICompatBackend(openai_standin.url, "tiny", vision=False)
    caps = backend.capabilities
    question = Message("user", (image_part((5, 5, 5)), TextPart("What is this?")))
    try:
        with pytest.raises(ModelError) as err:
            list(backend.stream([question], GenParams()))
    finally:
        backend.close()
    assert str(err.value) == vision_refusal(caps.name, kind, False, True)
    assert str(err.value).startswith(f"{caps.name} cannot see images (")
    assert not [body for path, body in ollama.requests if path == "/api/chat"]
    assert openai_standin.received == []
