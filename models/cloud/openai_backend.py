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
from models.image_codec import encoded_data_url
from models.openai_wire import chat_request, read_chunks, wire_messages
from models.stream_relay import Pieces


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
        wire = wire_messages(
            messages,
            lambda i: encoded_data_url(images[i.digest].mime, images[i.digest].data),
            detail="high",
        )
        request = chat_request(self.model, wire, params, "max_completion_tokens")
        return self._client.chat.completions.create(**request)

    def _read(self, raw: Any, usage: Usage) -> Pieces:
        return read_chunks(raw, usage)

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
