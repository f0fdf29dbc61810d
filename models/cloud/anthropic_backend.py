"""Anthropic's Messages API through the official ``anthropic`` SDK.

System text goes in ``system``; images go before the text of their message,
as base64 blocks. Usage arrives in two halves: the prompt in
``message_start``, the answer in ``message_delta``. ``json_fields`` uses
structured outputs (``output_config.format``). The current Messages API
takes no sampling parameters, so temperature and top_p are the model's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

import anthropic

from models.backend import GenParams, Usage
from models.cloud.base import CloudBackend, Failure, invalid_key
from models.cloud.limits import Provider
from models.cloud.prepare import EncodedImage
from models.cloud.retry import Transient, parse_retry_after
from models.conversation import Message
from models.errors import ModelError
from models.json_grammar import object_schema
from models.stream_relay import Finished, Pieces

OVERLOADED = 529


def _content(m: Message, images: dict[str, EncodedImage]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {
            "type": "image",
            "source": {
                "type": "base64",
                "media_type": images[i.digest].mime,
                "data": images[i.digest].base64,
            },
        }
        for i in m.images
    ]
    if m.joined_text:
        blocks.append({"type": "text", "text": m.joined_text})
    return blocks


def _system(messages: Sequence[Message]) -> str:
    return "\n\n".join(m.joined_text for m in messages if m.role == "system" and m.joined_text)


class AnthropicBackend(CloudBackend[anthropic.Anthropic]):
    provider: Provider = "anthropic"
    base_url_env = "ANTHROPIC_BASE_URL"
    default_base_url = "https://api.anthropic.com"

    def _connect(self, api_key: str, timeout_s: float, resources: ExitStack) -> anthropic.Anthropic:
        return anthropic.Anthropic(
            api_key=api_key, base_url=self.base_url, max_retries=0, timeout=timeout_s
        )

    def _open(
        self, messages: Sequence[Message], images: dict[str, EncodedImage], params: GenParams
    ) -> Any:
        system = _system(messages)
        output_config: Any = anthropic.omit
        if params.json_fields:
            output_config = {
                "format": {"type": "json_schema", "schema": object_schema(params.json_fields)}
            }
        wire: list[dict[str, Any]] = [
            {"role": m.role, "content": _content(m, images)} for m in messages if m.role != "system"
        ]
        # Messages are plain dicts in the documented wire shape, not the SDK's TypedDicts.
        return self._client.messages.create(
            model=self.model,
            max_tokens=params.max_tokens,
            messages=wire,  # type: ignore[arg-type]
            system=system or anthropic.omit,
            output_config=output_config,
            stop_sequences=list(params.stop) or anthropic.omit,
            stream=True,
        )

    def _read(self, raw: Any, usage: Usage) -> Pieces:
        for event in raw:
            if event.type == "message_start":
                u = event.message.usage
                cached = u.cache_read_input_tokens or 0
                usage.prompt_tokens = u.input_tokens + cached + (u.cache_creation_input_tokens or 0)
                usage.cached_tokens = cached
                usage.completion_tokens = u.output_tokens or 0
            elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                yield event.delta.text
            elif event.type == "message_delta":
                usage.completion_tokens = event.usage.output_tokens
                if event.delta.stop_reason:
                    yield Finished("length" if event.delta.stop_reason == "max_tokens" else "stop")

    def _close_stream(self, raw: Any) -> None:
        raw.close()

    def _failure(self, exc: Exception) -> Failure | None:
        if isinstance(exc, anthropic.APIConnectionError):
            return Transient(f"could not reach {self.base_url}")
        if isinstance(exc, anthropic.APIStatusError):
            status = exc.status_code
            if status == 401:
                return invalid_key("anthropic")
            after = parse_retry_after(exc.response.headers)
            if status == 429:
                return Transient("rate limited (429)", after)
            if status == OVERLOADED or _error_type(exc) == "overloaded_error":
                return Transient("the service is overloaded (529)", after)
            if status >= 500:
                return Transient(f"the service failed ({status})", after)
            return ModelError(f"Anthropic refused the request ({status}): {exc.message}")
        if isinstance(exc, anthropic.APIError):
            return Transient(f"the stream broke ({exc.message})")
        return None


def _error_type(exc: anthropic.APIStatusError) -> str | None:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("type"), str):
            return str(error["type"])
    return None
