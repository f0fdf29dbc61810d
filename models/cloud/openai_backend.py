"""OpenAI's Chat Completions API through the official ``openai`` SDK.

Images go as data URLs in the format ``prepare`` chose (PNG when it fits,
JPEG otherwise). Usage comes in the final chunk (``include_usage``).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

import openai

from models.backend import GenParams, Usage
from models.cloud.base import CloudBackend, Failure, invalid_key
from models.cloud.limits import Provider
from models.cloud.prepare import EncodedImage
from models.cloud.retry import Transient, parse_retry_after
from models.conversation import Message
from models.errors import ModelError
from models.json_grammar import object_schema
from models.stream_relay import Finished, Pieces


def _wire(messages: Sequence[Message], images: dict[str, EncodedImage]) -> list[dict[str, Any]]:
    wire: list[dict[str, Any]] = []
    for m in messages:
        if not m.images:
            wire.append({"role": m.role, "content": m.joined_text})
            continue
        content: list[dict[str, Any]] = [
            {
                "type": "image_url",
                "image_url": {
                    "url": f"data:{images[i.digest].mime};base64,{images[i.digest].base64}",
                    "detail": "high",
                },
            }
            for i in m.images
        ]
        content.append({"type": "text", "text": m.joined_text})
        wire.append({"role": m.role, "content": content})
    return wire


class OpenAIBackend(CloudBackend[openai.OpenAI]):
    provider: Provider = "openai"
    base_url_env = "OPENAI_BASE_URL"
    default_base_url = "https://api.openai.com/v1"

    def _connect(self, api_key: str, timeout_s: float, resources: ExitStack) -> openai.OpenAI:
        return openai.OpenAI(
            api_key=api_key, base_url=self.base_url, max_retries=0, timeout=timeout_s
        )

    def _open(
        self, messages: Sequence[Message], images: dict[str, EncodedImage], params: GenParams
    ) -> Any:
        response_format: Any = openai.omit
        if params.json_fields:
            response_format = {
                "type": "json_schema",
                "json_schema": {"name": "fields", "schema": object_schema(params.json_fields)},
            }
        # Messages are plain dicts in the documented wire shape, not the SDK's TypedDicts.
        return self._client.chat.completions.create(  # type: ignore[call-overload]
            model=self.model,
            messages=_wire(messages, images),
            stream=True,
            stream_options={"include_usage": True},
            max_completion_tokens=params.max_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            seed=params.seed,
            stop=list(params.stop) or openai.omit,
            response_format=response_format,
        )

    def _read(self, raw: Any, usage: Usage) -> Pieces:
        for chunk in raw:
            if chunk.usage is not None:
                usage.prompt_tokens = chunk.usage.prompt_tokens
                usage.completion_tokens = chunk.usage.completion_tokens
                details = chunk.usage.prompt_tokens_details
                usage.cached_tokens = (details.cached_tokens or 0) if details else 0
            for choice in chunk.choices:
                if choice.delta.content:
                    yield choice.delta.content
                if choice.finish_reason:
                    yield Finished("length" if choice.finish_reason == "length" else "stop")

    def _close_stream(self, raw: Any) -> None:
        raw.close()

    def _failure(self, exc: Exception) -> Failure | None:
        if isinstance(exc, openai.APIConnectionError):
            return Transient(f"could not reach {self.base_url}")
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            if status == 401:
                return invalid_key("openai")
            if status == 429 and exc.code == "insufficient_quota":
                return ModelError("OpenAI: the account has no credit left (insufficient_quota)")
            after = parse_retry_after(exc.response.headers)
            if status == 429:
                return Transient("rate limited (429)", after)
            if status >= 500:
                return Transient(f"the service failed ({status})", after)
            return ModelError(f"OpenAI refused the request ({status}): {exc.message}")
        if isinstance(exc, openai.APIError):
            return Transient(f"the stream broke ({exc.message})")
        return None
