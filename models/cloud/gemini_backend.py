"""Google's Gemini API through the official ``google-genai`` SDK.

Requests go to ``models/MODEL:streamGenerateContent?alt=sse``; images as
inline data. The SDK is given our own ``httpx`` client (so its connection
errors are the ones ``base`` knows) and no retry options (so it never
retries). A bad key comes back as 400 ``API_KEY_INVALID``, and a rate limit
may say how long to wait in a ``RetryInfo`` detail rather than a header;
both are understood here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

import httpx
from google import genai
from google.genai import errors, types

from models.backend import GenParams, Usage
from models.cloud.base import CloudBackend, Failure, invalid_key
from models.cloud.limits import Provider
from models.cloud.prepare import EncodedImage
from models.cloud.retry import Transient, parse_retry_after
from models.conversation import Message
from models.errors import ModelError
from models.json_grammar import object_schema
from models.stream_relay import Finished, Pieces

_DELAY = re.compile(r"^(\d+(?:\.\d+)?)s$")


def _contents(messages: Sequence[Message], images: dict[str, EncodedImage]) -> list[types.Content]:
    contents = []
    for m in messages:
        if m.role == "system":
            continue
        parts = [
            types.Part.from_bytes(data=images[i.digest].data, mime_type=images[i.digest].mime)
            for i in m.images
        ]
        if m.joined_text:
            parts.append(types.Part(text=m.joined_text))
        contents.append(
            types.Content(role="model" if m.role == "assistant" else "user", parts=parts)
        )
    return contents


def _retry_delay(details: Any) -> float | None:
    """``RetryInfo.retryDelay`` ("17s") from a google.rpc error body."""
    error = details.get("error", {}) if isinstance(details, dict) else {}
    for item in error.get("details", []) if isinstance(error, dict) else []:
        if isinstance(item, dict) and str(item.get("@type", "")).endswith("RetryInfo"):
            match = _DELAY.match(str(item.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


class GeminiBackend(CloudBackend[genai.Client]):
    provider: Provider = "gemini"
    base_url_env = "GEMINI_BASE_URL"
    default_base_url = "https://generativelanguage.googleapis.com/"

    def _connect(self, api_key: str, timeout_s: float, resources: ExitStack) -> genai.Client:
        http = resources.enter_context(httpx.Client(timeout=httpx.Timeout(timeout_s, connect=10.0)))
        return genai.Client(
            api_key=api_key,
            http_options=types.HttpOptions(
                base_url=self.base_url,
                api_version="v1beta",
                retry_options=None,
                httpx_client=http,
            ),
        )

    def _open(
        self, messages: Sequence[Message], images: dict[str, EncodedImage], params: GenParams
    ) -> Any:
        system = "\n\n".join(m.joined_text for m in messages if m.role == "system")
        config = types.GenerateContentConfig(
            system_instruction=system or None,
            max_output_tokens=params.max_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            seed=params.seed,
            stop_sequences=list(params.stop) or None,
            response_mime_type="application/json" if params.json_fields else None,
            response_json_schema=object_schema(params.json_fields) if params.json_fields else None,
        )
        return self._client.models.generate_content_stream(
            model=self.model, contents=_contents(messages, images), config=config
        )

    def _read(self, raw: Any, usage: Usage) -> Pieces:
        for chunk in raw:
            meta = chunk.usage_metadata
            if meta is not None:
                usage.prompt_tokens = meta.prompt_token_count or 0
                usage.cached_tokens = meta.cached_content_token_count or 0
                # Thinking tokens are billed as output.
                usage.completion_tokens = (meta.candidates_token_count or 0) + (
                    meta.thoughts_token_count or 0
                )
            for candidate in chunk.candidates or []:
                content = candidate.content
                for part in (content.parts if content else None) or []:
                    if part.text and not part.thought:
                        yield part.text
                if candidate.finish_reason == types.FinishReason.MAX_TOKENS:
                    yield Finished("length")
                elif candidate.finish_reason:
                    yield Finished("stop")

    def _close_stream(self, raw: Any) -> None:
        raw.close()

    def _failure(self, exc: Exception) -> Failure | None:
        if not isinstance(exc, errors.APIError):
            return None
        code = exc.code
        if code in (401, 403) or "API_KEY_INVALID" in str(exc.details):
            return invalid_key("gemini")
        headers = exc.response.headers if isinstance(exc.response, httpx.Response) else {}
        after = parse_retry_after(headers)
        if after is None:
            after = _retry_delay(exc.details)
        if code == 429:
            return Transient("rate limited (429)", after)
        if code >= 500:
            return Transient(f"the service failed ({code})", after)
        return ModelError(f"Gemini refused the request ({code}): {exc.message}")
