"""Ollama through the official SDK, against a stand-in that speaks Ollama's REST API."""

from __future__ import annotations

import base64
import io
import socket
import ssl
import threading
from collections.abc import Iterator

import pytest
from PIL import Image

from models.backend import GenParams, Usage
from models.conversation import Message, TextPart
from models.errors import ModelError
from models.ollama_backend import OllamaBackend, list_models, pull, tls_verify
from tests.images import image_part
from tests.ollama_standin import OllamaStandin, StandinModel


@pytest.fixture
def ollama() -> Iterator[OllamaStandin]:
    standin = OllamaStandin(
        {
            "llava:7b": StandinModel(vision=True, context_length=8192),
            "llama3.2:3b": StandinModel(vision=False),
        }
    ).start()
    yield standin
    standin.stop()


def ask(
    backend: OllamaBackend, *images: object, cancel: threading.Event | None = None
) -> tuple[str, Usage]:
    text, usage = "", None
    message = Message("user", (*images, TextPart("What is this?")))  # type: ignore[arg-type]
    for event in backend.stream([message], GenParams(max_tokens=50), cancel):
        if isinstance(event, Usage):
            usage = event
        else:
            text += event
    assert usage is not None
    return text, usage


def test_models_and_their_vision_come_from_ollama(ollama: OllamaStandin) -> None:
    entries = {e.name: e for e in list_models(ollama.url)}
    assert entries["llava:7b"].vision
    assert not entries["llama3.2:3b"].vision
    assert entries["llava:7b"].context_length == 8192
    assert entries["llava:7b"].backend == "ollama"


def test_an_image_reaches_a_vision_model_as_png(ollama: OllamaStandin) -> None:
    backend = OllamaBackend(ollama.url, "llava:7b", keep_alive="5m")
    photo = image_part((200, 0, 0), (40, 30))
    text, usage = ask(backend, photo)
    backend.close()
    assert text == "A red square on white."
    assert (usage.prompt_tokens, usage.completion_tokens, usage.finish_reason) == (42, 5, "stop")
    assert usage.tokens_per_s == pytest.approx(10.0)
    [chat] = ollama.chats()
    assert chat["keep_alive"] == "5m"
    sent = base64.b64decode(chat["messages"][0]["images"][0])
    assert Image.open(io.BytesIO(sent)).size == (40, 30)


def test_a_text_only_model_is_never_sent_an_image(ollama: OllamaStandin) -> None:
    backend = OllamaBackend(ollama.url, "llama3.2:3b")
    with pytest.raises(
        ModelError, match=r"cannot see images .Ollama reports no vision capability."
    ):
        ask(backend, image_part((1, 2, 3)))
    assert ollama.chats() == []
    text, _ = ask(backend)
    assert text
    backend.close()


def test_a_connection_cut_mid_answer_keeps_the_partial(ollama: OllamaStandin) -> None:
    ollama.cut_after = 2
    backend = OllamaBackend(ollama.url, "llava:7b")
    text, usage = ask(backend)
    backend.close()
    assert text == "A red "
    assert usage.finish_reason == "error"
    assert "broke mid-answer" in (usage.error or "") or "without finishing" in (usage.error or "")


def test_cancel_stops_the_stream(ollama: OllamaStandin) -> None:
    ollama.chunk_delay = 0.05
    backend = OllamaBackend(ollama.url, "llava:7b")
    cancel = threading.Event()
    chunks = []
    usage = None
    for event in backend.stream([Message.text("user", "hi")], GenParams(), cancel):
        if isinstance(event, Usage):
            usage = event
        else:
            chunks.append(event)
            cancel.set()
    backend.close()
    assert chunks == ["A "]
    assert usage is not None
    assert usage.finish_reason == "cancelled"


def test_unknown_model_and_unreachable_host_say_what_to_do(ollama: OllamaStandin) -> None:
    with pytest.raises(ModelError, match=r"no model 'nope'.*models pull ollama:nope"):
        OllamaBackend(ollama.url, "nope")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(
        ModelError, match=f"Ollama isn't reachable at {dead} — start it with `ollama serve`"
    ):
        list_models(dead)


def test_pull_reports_progress(ollama: OllamaStandin) -> None:
    seen: list[tuple[str, int | None, int | None]] = []
    pull(ollama.url, "moondream", lambda s, done, total: seen.append((s, done, total)))
    assert seen[0][0] == "pulling manifest"
    assert ("pulling 0123abcd", 3_000_000, 3_000_000) in seen
    assert seen[-1][0] == "success"


def test_the_context_ollama_runs_with_is_the_one_reported(ollama: OllamaStandin) -> None:
    small = OllamaBackend(ollama.url, "llava:7b", num_ctx=2048)
    large = OllamaBackend(ollama.url, "llava:7b", num_ctx=32768)
    assert small.capabilities.context_length == 2048
    assert large.capabilities.context_length == 8192, "never more than the model was trained for"
    ask(small)
    ask(large)
    small.close()
    large.close()
    assert [chat["options"]["num_ctx"] for chat in ollama.chats()] == [2048, 8192]


@pytest.mark.parametrize("host", ["http://127.0.0.1:11434", "HTTP://gpu:11434", "gpu:11434"])
def test_a_plain_http_host_loads_no_certificates_and_fails_closed_on_tls(host: str) -> None:
    """Loading the certificate bundle took 37 ms for a connection that never uses TLS.

    The SDK follows redirects, so an http host could still send a request to
    https: a context that trusts no authority refuses it rather than trusting all.
    """
    verify = tls_verify(host)
    assert isinstance(verify, ssl.SSLContext)
    assert verify.cert_store_stats()["x509_ca"] == 0
    assert verify.verify_mode is ssl.CERT_REQUIRED
    assert verify.check_hostname


def test_an_https_host_verifies_certificates_as_usual() -> None:
    assert tls_verify("https://ollama.example.com") is True
