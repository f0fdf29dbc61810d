"""A real OpenAI-compatible server: llama_cpp.server running the tiny test model, on loopback."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from models.backend import GenParams, Usage
from models.conversation import Message, TextPart
from models.errors import ModelError
from models.openai_compat_backend import OpenAICompatBackend, list_models
from tests.images import image_part
from tests.llama_server import free_port, llama_server


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    from tests.tinyvlm import SPEC_A, write_vlm

    model, mmproj = write_vlm(SPEC_A, tmp_path_factory.mktemp("served"))
    with llama_server(model, mmproj) as served:
        yield served


def collect(stream: Iterator[object]) -> tuple[str, Usage]:
    text, usage = "", None
    for event in stream:
        if isinstance(event, Usage):
            usage = event
        else:
            text += str(event)
    assert usage is not None
    return text, usage


def test_the_server_lists_its_model(server: Any) -> None:
    [entry] = list_models(server[0])
    assert (entry.name, entry.backend) == ("tiny", "openai-compat")


def test_an_image_question_streams_an_answer(server: Any) -> None:
    backend = OpenAICompatBackend(server[0], "tiny")
    message = Message("user", (image_part((9, 99, 199)), TextPart("What is it?")))
    text, usage = collect(backend.stream([message], GenParams(max_tokens=8)))
    backend.close()
    assert text.strip()
    assert usage.finish_reason == "length"
    assert usage.completion_tokens == 8
    assert usage.ttft_ms > 0


def test_cancel_closes_the_stream(server: Any) -> None:
    backend = OpenAICompatBackend(server[0], "tiny")
    cancel = threading.Event()
    chunks = []
    usage = None
    for event in backend.stream([Message.text("user", "go")], GenParams(max_tokens=500), cancel):
        if isinstance(event, Usage):
            usage = event
        else:
            chunks.append(event)
            cancel.set()
    backend.close()
    assert len(chunks) == 1
    assert usage is not None
    assert usage.finish_reason == "cancelled"


def test_a_missing_model_and_a_dead_server_are_clear(server: Any) -> None:
    with pytest.raises(ModelError, match=r"has no model 'other'.*it has: tiny"):
        OpenAICompatBackend(server[0], "other")
    dead = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(ModelError, match=f"server at {dead} isn't reachable"):
        list_models(dead)


def test_a_server_killed_mid_answer_keeps_the_partial(server: Any) -> None:
    url, proc = server
    backend = OpenAICompatBackend(url, "tiny", vision=True)
    text, usage = "", None
    for event in backend.stream([Message.text("user", "long")], GenParams(max_tokens=100000)):
        if isinstance(event, Usage):
            usage = event
        else:
            text += event
            if len(text) > 20 and proc.poll() is None:
                proc.kill()
    backend.close()
    assert text
    assert usage is not None
    assert usage.finish_reason == "error"
