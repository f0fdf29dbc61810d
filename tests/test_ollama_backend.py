"""Talking to models in Ollama, driven through the official client against a stand-in server."""

from __future__ import annotations

import base64
import io
import threading

import pytest
from PIL import Image

from models.backend import Backend, GenParams, Usage
from models.conversation import ImagePart, Message, TextPart
from models.errors import ModelError
from models.ollama_backend import OllamaBackend, PullProgress, list_models, pull
from tests.ollama_standin import OllamaStandin, StandinModel


def ask(text: str, *images: ImagePart) -> list[Message]:
    return [Message("user", (*images, TextPart(text)))]


def collect(events: object) -> tuple[str, Usage]:
    items = list(events)  # type: ignore[call-overload]
    assert isinstance(items[-1], Usage)
    assert all(isinstance(i, str) for i in items[:-1])
    return "".join(items[:-1]), items[-1]


def test_the_model_list_shows_what_ollama_says_each_model_can_do(
    ollama_standin: OllamaStandin,
) -> None:
    entries = {e.name: e for e in list_models(ollama_standin.url)}

    assert set(entries) == {"llava:7b", "llama3.2:1b"}
    assert entries["llava:7b"].vision is True
    assert entries["llama3.2:1b"].vision is False
    assert entries["llava:7b"].context_length == 32768
    assert entries["llama3.2:1b"].context_length == 131072
    assert entries["llava:7b"].backend == "ollama"
    assert entries["llava:7b"].qualified_name == "ollama:llava:7b"
    assert entries["llava:7b"].size_bytes == 4_109_865_159


def test_vision_is_never_guessed_from_a_name(ollama_standin: OllamaStandin) -> None:
    ollama_standin.models["llava-lookalike:latest"] = StandinModel("llava-lookalike:latest")

    entry = next(e for e in list_models(ollama_standin.url) if e.name == "llava-lookalike:latest")

    assert entry.vision is False


def test_an_answer_streams_in_chunks_and_ends_with_usage_from_ollama(
    ollama_standin: OllamaStandin,
) -> None:
    backend = OllamaBackend(ollama_standin.url, "llama3.2:1b", keep_alive="10m")
    assert isinstance(backend, Backend)
    assert backend.capabilities.vision is False
    assert backend.capabilities.context_length == 4096

    events = list(backend.stream(ask("Say something."), GenParams(max_tokens=64, temperature=0.2)))
    text, usage = collect(events)

    assert len(events) > 3
    assert text == "A red square sits on a white page."
    assert usage.finish_reason == "stop"
    assert usage.prompt_tokens == 26
    assert usage.completion_tokens == 8
    assert usage.tokens_per_s == pytest.approx(50.0)
    assert usage.ttft_ms > 0
    assert usage.extra["prompt_eval_ms"] == pytest.approx(130.0)
    sent = ollama_standin.requests_to("/api/chat")[0].body
    assert sent["keep_alive"] == "10m"
    assert sent["options"]["num_ctx"] == 4096
    assert sent["options"]["num_predict"] == 64
    assert sent["options"]["temperature"] == 0.2
    backend.close()


def test_an_answer_cut_by_the_token_limit_says_so(ollama_standin: OllamaStandin) -> None:
    backend = OllamaBackend(ollama_standin.url, "llama3.2:1b")

    text, usage = collect(backend.stream(ask("Go on."), GenParams(max_tokens=3)))

    assert text == "A red square"
    assert usage.finish_reason == "length"


def test_an_image_reaches_a_vision_model_as_base64(
    ollama_standin: OllamaStandin, square: ImagePart
) -> None:
    backend = OllamaBackend(ollama_standin.url, "llava:7b")
    assert backend.capabilities.vision is True

    _, usage = collect(backend.stream(ask("What is this?", square), GenParams()))

    assert usage.finish_reason == "stop"
    message = ollama_standin.requests_to("/api/chat")[0].body["messages"][0]
    assert message["content"] == "What is this?"
    sent = Image.open(io.BytesIO(base64.b64decode(message["images"][0])))
    assert sent.size == (square.width, square.height)
    assert sent.convert("RGB").tobytes() == square.rgb


def test_a_text_only_model_refuses_images_and_nothing_is_sent(
    ollama_standin: OllamaStandin, square: ImagePart
) -> None:
    backend = OllamaBackend(ollama_standin.url, "llama3.2:1b")

    with pytest.raises(ModelError) as err:
        backend.stream(ask("What is this?", square), GenParams())

    assert str(err.value).startswith("llama3.2:1b cannot see images (Ollama reports no vision")
    assert "pick a vision model such as llava" in str(err.value)
    assert ollama_standin.requests_to("/api/chat") == []


def test_a_connection_cut_mid_answer_keeps_the_partial_text(ollama_standin: OllamaStandin) -> None:
    ollama_standin.behaviour.cut_after_chunks = 3
    backend = OllamaBackend(ollama_standin.url, "llava:7b")

    text, usage = collect(backend.stream(ask("Describe."), GenParams()))

    assert text == "A red square"
    assert usage.finish_reason == "error"
    assert usage.error is not None
    assert ollama_standin.url in usage.error
    assert "\n" not in usage.error


def test_a_connection_cut_before_any_token_is_an_error(ollama_standin: OllamaStandin) -> None:
    ollama_standin.behaviour.cut_after_chunks = 0
    backend = OllamaBackend(ollama_standin.url, "llava:7b")

    with pytest.raises(ModelError, match=r"Ollama at http://127\.0\.0\.1"):
        list(backend.stream(ask("Describe."), GenParams()))


def test_cancel_stops_within_a_chunk_and_hangs_up(ollama_standin: OllamaStandin) -> None:
    ollama_standin.behaviour.chunk_delay_s = 0.05
    cancel = threading.Event()
    backend = OllamaBackend(ollama_standin.url, "llava:7b")

    events: list[object] = []
    for event in backend.stream(ask("Describe."), GenParams(), cancel):
        events.append(event)
        if len(events) == 2:
            cancel.set()

    text, usage = collect(events)
    assert text == "A red"
    assert usage.finish_reason == "cancelled"
    assert usage.completion_tokens == 2
    assert ollama_standin.client_went_away.wait(timeout=5)


def test_closing_the_stream_closes_the_http_stream(ollama_standin: OllamaStandin) -> None:
    ollama_standin.behaviour.chunk_delay_s = 0.05
    backend = OllamaBackend(ollama_standin.url, "llava:7b")

    events = backend.stream(ask("Describe."), GenParams())
    assert next(events) == "A"
    events.close()  # type: ignore[attr-defined]

    assert ollama_standin.client_went_away.wait(timeout=5)


def test_ollama_not_running_gets_a_clear_message(dead_url: str) -> None:
    expected = (
        f"Ollama isn't reachable at {dead_url} — start it with `ollama serve` or change the host"
    )

    with pytest.raises(ModelError) as err:
        OllamaBackend(dead_url, "llava:7b")
    assert str(err.value) == expected

    with pytest.raises(ModelError) as err:
        list_models(dead_url)
    assert str(err.value) == expected


def test_an_unknown_model_is_named_with_the_way_to_get_it(ollama_standin: OllamaStandin) -> None:
    with pytest.raises(ModelError) as err:
        OllamaBackend(ollama_standin.url, "moondream:latest")

    assert "no model 'moondream:latest'" in str(err.value)
    assert "sightline models pull ollama:moondream:latest" in str(err.value)


def test_a_model_removed_after_opening_fails_before_the_first_token(
    ollama_standin: OllamaStandin,
) -> None:
    backend = OllamaBackend(ollama_standin.url, "llava:7b")
    del ollama_standin.models["llava:7b"]

    with pytest.raises(ModelError, match="no model 'llava:7b'"):
        list(backend.stream(ask("Hi"), GenParams()))


def test_json_fields_ask_ollama_for_exactly_those_keys(ollama_standin: OllamaStandin) -> None:
    backend = OllamaBackend(ollama_standin.url, "llava:7b")

    collect(backend.stream(ask("Fill in."), GenParams(json_fields=("title", "total"))))

    schema = ollama_standin.requests_to("/api/chat")[0].body["format"]
    assert schema["required"] == ["title", "total"]
    assert set(schema["properties"]) == {"title", "total"}
    assert schema["additionalProperties"] is False


def test_pull_reports_progress_until_the_model_is_installed(ollama_standin: OllamaStandin) -> None:
    ollama_standin.pullable["moondream:latest"] = StandinModel("moondream:latest", vision=True)
    steps: list[PullProgress] = []

    assert pull(ollama_standin.url, "moondream:latest", steps.append) is True

    assert steps[0].status == "pulling manifest"
    downloads = [s for s in steps if s.total]
    assert [s.completed for s in downloads] == [0, 1_000_000, 2_000_000, 3_000_000, 4_000_000]
    assert steps[-1].status == "success"
    assert "moondream:latest" in {e.name for e in list_models(ollama_standin.url)}


def test_a_cancelled_pull_stops_and_says_so(ollama_standin: OllamaStandin) -> None:
    ollama_standin.pullable["moondream:latest"] = StandinModel("moondream:latest", vision=True)
    ollama_standin.behaviour.chunk_delay_s = 0.05
    cancel = threading.Event()

    def on_step(step: PullProgress) -> None:
        if step.completed:
            cancel.set()

    assert pull(ollama_standin.url, "moondream:latest", on_step, cancel) is False
    assert ollama_standin.client_went_away.wait(timeout=5)
    assert "moondream:latest" not in ollama_standin.models


def test_pulling_a_name_ollama_does_not_know_is_a_clear_error(
    ollama_standin: OllamaStandin,
) -> None:
    with pytest.raises(ModelError) as err:
        pull(ollama_standin.url, "no-such-model")

    assert str(err.value) == (
        f"Ollama at {ollama_standin.url} couldn't pull 'no-such-model': "
        "pull model manifest: file does not exist"
    )
