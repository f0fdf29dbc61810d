"""Cloud backends, driven by the official SDKs against loopback stand-ins of each API."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

import pytest

from models.backend import Backend, Event, GenParams, Usage
from models.cloud.anthropic_backend import AnthropicBackend
from models.cloud.base import CloudBackend
from models.cloud.gemini_backend import GeminiBackend
from models.cloud.limits import TITLES
from models.cloud.openai_backend import OpenAIBackend
from models.cloud.pricing import cost_usd
from models.cloud.retry import RetryPolicy
from models.conversation import Message, TextPart
from models.errors import ModelError
from tests.cloud_standins import ANSWER, Fault, Standin
from tests.images import image_part

BACKENDS: dict[str, tuple[type[CloudBackend], str]] = {
    "openai": (OpenAIBackend, "gpt-4.1-mini"),
    "anthropic": (AnthropicBackend, "claude-haiku-4-5"),
    "gemini": (GeminiBackend, "gemini-2.5-flash"),
}
PROVIDERS = list(BACKENDS)
OVERLOADED = {"openai": 503, "anthropic": 529, "gemini": 503}

StartStandin = Callable[..., Standin]


def _backend(provider: str, standin: Standin, policy: RetryPolicy) -> CloudBackend:
    cls, model = BACKENDS[provider]
    return cls(model, standin.key, standin.url, policy=policy)


def _conversation() -> list[Message]:
    return [
        Message.text("system", "Answer briefly."),
        Message("user", (image_part((200, 30, 30)), TextPart("What is in the picture?"))),
    ]


def _run(backend: Backend, cancel: threading.Event | None = None) -> tuple[str, Usage]:
    events: list[Event] = list(backend.stream(_conversation(), GenParams(), cancel))
    usage = events[-1]
    assert isinstance(usage, Usage)
    assert all(isinstance(e, str) for e in events[:-1])
    return "".join(e for e in events[:-1] if isinstance(e, str)), usage


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_answer_streams_with_usage_and_cost(
    provider: str, start_standin: StartStandin, quick_retries: RetryPolicy
) -> None:
    standin = start_standin(provider)
    backend = _backend(provider, standin, quick_retries)

    text, usage = _run(backend)

    assert text == "".join(ANSWER)
    assert usage.finish_reason == "stop"
    assert usage.prompt_tokens == standin.prompt_tokens
    assert usage.completion_tokens == len(ANSWER)
    assert usage.ttft_ms > 0
    assert usage.cost_usd == cost_usd(backend.capabilities.name, usage, [(64, 48)])
    assert (usage.cost_usd or 0) > 0
    assert usage.images_sent == 1
    assert backend.capabilities.backend == provider
    assert backend.capabilities.name == f"{provider}:{BACKENDS[provider][1]}"
    (request,) = standin.received
    assert len(standin.images(request.body)) == 1
    backend.close()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_rate_limit_is_waited_out_for_as_long_as_the_server_says(
    provider: str, start_standin: StartStandin, quick_retries: RetryPolicy, sleeps: list[float]
) -> None:
    standin = start_standin(provider, faults=[Fault(429, retry_after="3")])

    text, _usage = _run(_backend(provider, standin, quick_retries))

    assert text == "".join(ANSWER)
    assert sleeps == [3.0]
    assert len(standin.received) == 2


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_overloaded_service_is_retried_with_growing_jittered_waits(
    provider: str, start_standin: StartStandin, quick_retries: RetryPolicy, sleeps: list[float]
) -> None:
    status = OVERLOADED[provider]
    standin = start_standin(provider, faults=[Fault(status), Fault(status)])

    text, _ = _run(_backend(provider, standin, quick_retries))

    assert text == "".join(ANSWER)
    assert sleeps == [0.75, 1.5]  # 1 s then 2 s ceilings, jitter pinned at the middle
    assert len(standin.received) == 3


@pytest.mark.parametrize("provider", PROVIDERS)
def test_after_the_last_try_the_error_says_what_happened_and_when_to_retry(
    provider: str, start_standin: StartStandin, quick_retries: RetryPolicy
) -> None:
    standin = start_standin(provider, faults=[Fault(429, retry_after="7")] * 4)

    with pytest.raises(ModelError) as err:
        _run(_backend(provider, standin, quick_retries))

    assert "rate limited (429)" in str(err.value)
    assert "gave up after 4 tries" in str(err.value)
    assert "try again in 7 seconds" in str(err.value)
    assert len(standin.received) == quick_retries.max_tries


def test_a_server_asking_for_a_long_wait_is_not_retried(
    start_standin: StartStandin, quick_retries: RetryPolicy, sleeps: list[float]
) -> None:
    standin = start_standin("anthropic", faults=[Fault(429, retry_after="600")])

    with pytest.raises(ModelError, match="try again in about 10 minutes"):
        _run(_backend("anthropic", standin, quick_retries))

    assert sleeps == []
    assert len(standin.received) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_stream_cut_mid_answer_keeps_the_partial_answer_marked(
    provider: str, start_standin: StartStandin, quick_retries: RetryPolicy
) -> None:
    standin = start_standin(provider, cut_after=3)

    text, usage = _run(_backend(provider, standin, quick_retries))

    assert text == "".join(ANSWER[:3])
    assert usage.finish_reason == "error"
    assert usage.error is not None
    assert "broke off" in usage.error
    assert "what arrived is kept" in usage.error
    assert len(standin.received) == 1, "a partly shown answer is not asked again"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_stream_that_ends_without_the_model_finishing_is_an_error(
    provider: str, start_standin: StartStandin, quick_retries: RetryPolicy
) -> None:
    standin = start_standin(provider, unfinished=True)

    text, usage = _run(_backend(provider, standin, quick_retries))

    assert text == "".join(ANSWER), "what arrived is kept"
    assert usage.finish_reason == "error"
    assert usage.error == f"{TITLES[provider]} ended the answer without finishing it"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_invalid_key_points_to_keys_set_without_retrying_or_quoting_it(
    provider: str, start_standin: StartStandin, quick_retries: RetryPolicy
) -> None:
    standin = start_standin(provider)
    cls, model = BACKENDS[provider]
    wrong = "sk-wrong-key-0123456789"
    backend = cls(model, wrong, standin.url, policy=quick_retries)

    with pytest.raises(ModelError) as err:
        _run(backend)

    assert f"`sightline keys set {provider}`" in str(err.value)
    assert wrong not in str(err.value)
    assert len(standin.received) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_sdks_own_retries_are_off(provider: str, start_standin: StartStandin) -> None:
    standin = start_standin(provider, faults=[Fault(500)])

    with pytest.raises(ModelError, match=r"the service failed \(500\); gave up after 1 try"):
        _run(_backend(provider, standin, RetryPolicy(max_tries=1)))

    assert len(standin.received) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_stop_ends_the_answer_within_a_chunk(
    provider: str, start_standin: StartStandin, quick_retries: RetryPolicy
) -> None:
    standin = start_standin(provider)
    backend = _backend(provider, standin, quick_retries)
    cancel = threading.Event()
    pieces: list[str] = []
    usage = None
    for event in backend.stream(_conversation(), GenParams(), cancel):
        if isinstance(event, Usage):
            usage = event
        else:
            pieces.append(event)
            cancel.set()

    assert pieces == [ANSWER[0]]
    assert usage is not None
    assert usage.finish_reason == "cancelled"


def test_an_unreachable_service_is_retried_then_named(
    quick_retries: RetryPolicy, sleeps: list[float]
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend = OpenAIBackend(
        "gpt-4o", "sk-anything-at-all", f"http://127.0.0.1:{port}/v1", policy=quick_retries
    )

    with pytest.raises(ModelError, match=rf"OpenAI: could not reach http://127.0.0.1:{port}/v1"):
        _run(backend)

    assert len(sleeps) == quick_retries.max_tries - 1


@pytest.mark.parametrize(
    ("provider", "variable"),
    [
        ("openai", "OPENAI_BASE_URL"),
        ("anthropic", "ANTHROPIC_BASE_URL"),
        ("gemini", "GEMINI_BASE_URL"),
    ],
)
def test_the_base_url_can_come_from_the_environment(
    provider: str,
    variable: str,
    start_standin: StartStandin,
    quick_retries: RetryPolicy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    standin = start_standin(provider)
    monkeypatch.setenv(variable, standin.url)
    cls, model = BACKENDS[provider]

    text, _ = _run(cls(model, standin.key, policy=quick_retries))

    assert text == "".join(ANSWER)


def test_json_fields_ask_each_provider_for_its_structured_output(
    start_standin: StartStandin, quick_retries: RetryPolicy
) -> None:
    params = GenParams(json_fields=("title", "colour"))
    bodies = {}
    for provider in PROVIDERS:
        standin = start_standin(provider)
        list(_backend(provider, standin, quick_retries).stream(_conversation(), params))
        bodies[provider] = standin.received[0].body

    assert bodies["openai"]["response_format"]["json_schema"]["schema"]["required"] == [
        "title",
        "colour",
    ]
    assert bodies["anthropic"]["output_config"]["format"]["type"] == "json_schema"
    assert bodies["gemini"]["generationConfig"]["responseMimeType"] == "application/json"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_closed_backend_sends_nothing_more(
    provider: str, start_standin: StartStandin, quick_retries: RetryPolicy
) -> None:
    standin = start_standin(provider)
    backend = _backend(provider, standin, quick_retries)
    _run(backend)

    backend.close()
    backend.close()  # closing twice is harmless

    with pytest.raises(ModelError, match="has been closed") as refused:
        _run(backend)
    assert str(refused.value).startswith(backend.capabilities.name)
    assert len(standin.received) == 1
