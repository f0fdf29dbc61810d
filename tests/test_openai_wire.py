"""OpenAI and the local OpenAI-compatible servers are sent the same wire format.

Both backends, through the official SDK, against the OpenAI stand-in, which
records every request body: the two differ only in the length field and the
image's ``detail`` (and in the image bytes: the cloud's are fitted).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from models.backend import Backend, GenParams, Usage
from models.cloud.openai_backend import OpenAIBackend
from models.cloud.retry import RetryPolicy
from models.conversation import Message, TextPart
from models.openai_compat_backend import OpenAICompatBackend
from tests.cloud_standins import ANSWER, Standin
from tests.images import image_part

PARAMS = GenParams(max_tokens=64, temperature=0.3, top_p=0.8, seed=7, stop=("END",))


@pytest.fixture
def standin(start_standin: Callable[..., Standin]) -> Standin:
    return start_standin("openai")


def _conversation() -> list[Message]:
    return [
        Message.text("system", "Answer briefly."),
        Message("user", (image_part((20, 200, 30)), TextPart("What colour?"))),
    ]


def _send(backend: Backend, standin: Standin, params: GenParams) -> dict[str, Any]:
    events = list(backend.stream(_conversation(), params))
    backend.close()
    usage = events[-1]
    assert isinstance(usage, Usage)
    assert usage.finish_reason == "stop"
    assert "".join(e for e in events if isinstance(e, str)) == "".join(ANSWER)
    assert (usage.prompt_tokens, usage.completion_tokens) == (standin.prompt_tokens, len(ANSWER))
    return standin.received[-1].body


def _bodies(standin: Standin, params: GenParams) -> tuple[dict[str, Any], dict[str, Any]]:
    cloud = OpenAIBackend("gpt-4.1-mini", standin.key, standin.url, policy=RetryPolicy(max_tries=1))
    local = OpenAICompatBackend(standin.url, "gpt-4.1-mini", api_key=standin.key, vision=True)
    return _send(cloud, standin, params), _send(local, standin, params)


def test_both_send_one_request_shape(standin: Standin) -> None:
    cloud, local = _bodies(standin, PARAMS)

    assert cloud.pop("max_completion_tokens") == local.pop("max_tokens") == 64
    cloud_image = cloud["messages"][1]["content"][0]["image_url"]
    local_image = local["messages"][1]["content"][0]["image_url"]
    assert cloud_image.pop("detail") == "high"
    assert "detail" not in local_image
    assert cloud_image.pop("url").startswith("data:image/")
    assert local_image.pop("url").startswith("data:image/")
    assert cloud == local
    assert cloud["stream"] is True
    assert cloud["stream_options"] == {"include_usage": True}
    assert (cloud["temperature"], cloud["top_p"], cloud["seed"]) == (0.3, 0.8, 7)
    assert cloud["stop"] == ["END"]
    assert cloud["messages"][0] == {"role": "system", "content": "Answer briefly."}
    assert cloud["messages"][1]["content"][1] == {"type": "text", "text": "What colour?"}
    assert "response_format" not in cloud


def test_both_ask_for_json_fields_with_one_schema(standin: Standin) -> None:
    cloud, local = _bodies(standin, GenParams(json_fields=("title", "colour")))

    assert cloud["response_format"] == local["response_format"]
    assert cloud["response_format"]["type"] == "json_schema"
    assert cloud["response_format"]["json_schema"]["schema"]["required"] == ["title", "colour"]
    assert "stop" not in cloud
    assert "stop" not in local
