"""A broken Ollama, as the SDK meets it: stalls, garbage and silence each get their own reason."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from models.errors import ModelError
from models.ollama_backend import OllamaBackend, list_models
from tests.cli_runner import sightline
from tests.ollama_standin import OllamaStandin, StandinModel
from tests.test_ollama_backend import ask

STALL_S = 1.0


@pytest.fixture
def ollama() -> Iterator[OllamaStandin]:
    standin = OllamaStandin({"llava:7b": StandinModel(vision=True)}).start()
    yield standin
    standin.stop()


def backend(standin: OllamaStandin) -> OllamaBackend:
    return OllamaBackend(standin.url, "llava:7b", stall_timeout_s=STALL_S)


@pytest.mark.parametrize("path", ["/api/show", "/api/tags"])
def test_malformed_json_is_an_unexpected_answer(ollama: OllamaStandin, path: str) -> None:
    ollama.malformed_paths = {path}
    with pytest.raises(ModelError, match=f"Ollama at {ollama.url} sent something unexpected"):
        list_models(ollama.url)
    if path == "/api/show":
        with pytest.raises(ModelError, match="sent something unexpected"):
            backend(ollama)


def test_a_malformed_first_line_is_not_unreachable(ollama: OllamaStandin) -> None:
    ollama.malformed_paths = {"/api/chat"}
    b = backend(ollama)
    with pytest.raises(ModelError, match="sent something unexpected"):
        ask(b)
    b.close()


@pytest.mark.parametrize("path", ["/api/show", "/api/chat"])
def test_a_server_that_never_answers_is_given_up_on(ollama: OllamaStandin, path: str) -> None:
    ollama.stall_paths = {path}
    started = time.monotonic()
    with pytest.raises(ModelError, match=f"Ollama at {ollama.url} accepted the request but did"):
        ask(backend(ollama))
    assert time.monotonic() - started < 30


def test_a_stall_mid_answer_keeps_the_partial_and_says_so(ollama: OllamaStandin) -> None:
    ollama.stall_after = 2
    b = backend(ollama)
    text, usage = ask(b)
    b.close()
    assert text == "A red "
    assert usage.finish_reason == "error"
    assert usage.error == (
        f"Ollama at {ollama.url} stopped answering after 2 tokens (nothing for 1 s)"
    )


def test_the_stall_bound_is_a_setting_the_command_line_honours(
    ollama: OllamaStandin, cli_env: dict[str, str], sightline_home: Path, tmp_path: Path
) -> None:
    config = sightline_home / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("ollama_stall_timeout_s = 1.0\n", encoding="utf-8")
    photo = tmp_path / "p.png"
    Image.new("RGB", (64, 64), (9, 90, 200)).save(photo)
    ollama.stall_after = 2
    started = time.monotonic()
    r = sightline(
        {**cli_env, "OLLAMA_HOST": ollama.url}, "describe", photo, "--model", "ollama:llava:7b"
    )
    assert time.monotonic() - started < 60
    assert "stopped answering after" in r.stderr
