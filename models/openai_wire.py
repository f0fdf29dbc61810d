"""OpenAI's chat wire format, written once for OpenAI itself and for local servers that speak it.

The two differ only where there is a reason: OpenAI is sent each image as
fitted to its limits, with ``detail: high``, and reads the answer's length
from ``max_completion_tokens``; a local server is sent the image as it is
(``image_codec.data_url``) and reads the older ``max_tokens``, which is all
LM Studio, llama-server and vLLM understand. Those are the parameters here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

from openai.types.chat import ChatCompletionChunk

from models.backend import GenParams, Usage
from models.conversation import ImagePart, Message
from models.json_grammar import object_schema
from models.stream_relay import Finished, Pieces

LengthField = Literal["max_tokens", "max_completion_tokens"]


def wire_messages(
    messages: Sequence[Message],
    image_url: Callable[[ImagePart], str],
    detail: Literal["high"] | None = None,
) -> list[dict[str, Any]]:
    """Messages as plain dicts: images first (as data URLs), then the message's text."""
    wire: list[dict[str, Any]] = []
    for m in messages:
        if not m.images:
            wire.append({"role": m.role, "content": m.joined_text})
            continue
        content: list[dict[str, Any]] = []
        for image in m.images:
            url: dict[str, str] = {"url": image_url(image)}
            if detail is not None:
                url["detail"] = detail
            content.append({"type": "image_url", "image_url": url})
        content.append({"type": "text", "text": m.joined_text})
        wire.append({"role": m.role, "content": content})
    return wire


def chat_request(
    model: str, messages: list[dict[str, Any]], params: GenParams, length_field: LengthField
) -> dict[str, Any]:
    """The arguments of a streamed ``chat.completions.create``, usage in the last chunk."""
    request: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
        length_field: params.max_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "seed": params.seed,
    }
    if params.stop:
        request["stop"] = list(params.stop)
    if params.json_fields:
        request["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "fields", "schema": object_schema(params.json_fields)},
        }
    return request


def read_chunks(chunks: Iterable[ChatCompletionChunk], usage: Usage) -> Pieces:
    """Text deltas and the finish reason as pieces; the usage chunk fills ``usage``."""
    for chunk in chunks:
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
