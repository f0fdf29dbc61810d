"""Models behind a local OpenAI-compatible server, through the official ``openai`` client.

llama.cpp's ``llama-server``, ``python -m llama_cpp.server``, LM Studio and
vLLM all speak ``/v1/chat/completions``. They do not reliably say whether a
model can see: ``llama_cpp.server``'s ``/v1/models`` gives only ``id``,
``object``, ``owned_by`` and ``permissions``. So vision comes from the
caller's ``vision`` hint when given, else from metadata a server does
publish (a ``capabilities`` list with ``"vision"``, or ``"image"`` among
input modalities), else it is False and images are refused before anything
is sent, with a message saying how to declare it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

import openai
from openai.types.chat import ChatCompletionChunk

from models.backend import Capabilities, Event, FinishReason, GenParams, Usage
from models.conversation import ImagePart, Message, TextPart
from models.entry import ModelEntry
from models.errors import ModelError
from models.image_codec import data_url
from models.stream_clock import StreamClock

DEFAULT_CONTEXT_LENGTH = 4096
"""Used when the server does not publish one; llama_cpp.server's own default n_ctx is 2048."""
_NO_KEY = "not-needed"
_CONNECT_TIMEOUT_S = 5.0
_READ_TIMEOUT_S = 600.0


def _client(base_url: str, api_key: str | None) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=base_url,
        api_key=api_key or _NO_KEY,
        max_retries=0,
        timeout=openai.Timeout(_READ_TIMEOUT_S, connect=_CONNECT_TIMEOUT_S),
    )


def _translate(base_url: str, exc: openai.APIError) -> ModelError:
    """One line naming the server; never the key, which the client keeps to itself."""
    if isinstance(exc, openai.APITimeoutError):
        return ModelError(f"The server at {base_url} did not answer in time")
    if isinstance(exc, openai.APIConnectionError):
        return ModelError(
            f"The OpenAI-compatible server at {base_url} isn't reachable"
            " — start it or change the URL"
        )
    if isinstance(exc, openai.AuthenticationError):
        return ModelError(f"The server at {base_url} refused the API key")
    if isinstance(exc, openai.NotFoundError):
        return ModelError(f"The server at {base_url} has no such model or endpoint")
    status = getattr(exc, "status_code", None)
    reason = " ".join(str(exc.message).split())
    prefix = f"The server at {base_url} refused the request"
    return ModelError(f"{prefix} ({status}): {reason}" if status else f"{prefix}: {reason}")


def _metadata(model: Any) -> dict[str, Any]:
    return dict(model.model_extra or {})


def _says_vision(meta: Mapping[str, Any]) -> bool:
    capabilities = meta.get("capabilities")
    if isinstance(capabilities, list) and "vision" in capabilities:
        return True
    architecture = meta.get("architecture")
    modalities = meta.get("input_modalities") or (
        architecture.get("input_modalities") if isinstance(architecture, Mapping) else None
    )
    return isinstance(modalities, list) and "image" in modalities


def _says_context(meta: Mapping[str, Any]) -> int | None:
    """Where servers that publish it put it.

    ``max_model_len`` (vLLM), ``context_length`` (LM Studio, OpenRouter),
    ``meta.n_ctx_train`` (llama-server).
    """
    inner = meta.get("meta")
    for value in (
        meta.get("max_model_len"),
        meta.get("context_length"),
        inner.get("n_ctx_train") if isinstance(inner, Mapping) else None,
    ):
        if isinstance(value, int) and value > 0:
            return value
    return None


def _listed(client: openai.OpenAI, base_url: str) -> list[Any]:
    try:
        return list(client.models.list())
    except openai.APIError as exc:
        raise _translate(base_url, exc) from None


def list_models(
    base_url: str, *, api_key: str | None = None, vision: bool | None = None
) -> list[ModelEntry]:
    """The server's ``/v1/models``; ``vision`` overrides what the server does not say."""
    with _client(base_url, api_key) as client:
        listed = _listed(client, base_url)
    return [
        ModelEntry(
            name=model.id,
            backend="openai-compat",
            vision=vision if vision is not None else _says_vision(_metadata(model)),
            context_length=_says_context(_metadata(model)),
        )
        for model in listed
    ]


def _wire_part(part: TextPart | ImagePart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    return {"type": "image_url", "image_url": {"url": data_url(part)}}


def _wire_message(message: Message) -> dict[str, Any]:
    if not message.images:
        return {"role": message.role, "content": message.joined_text}
    return {"role": message.role, "content": [_wire_part(p) for p in message.parts]}


def _response_format(fields: tuple[str, ...]) -> dict[str, Any]:
    """``json_object`` with a schema: what llama.cpp's servers turn into a grammar."""
    schema = {
        "type": "object",
        "properties": {name: {} for name in fields},
        "required": list(fields),
        "additionalProperties": False,
    }
    return {"type": "json_object", "schema": schema}


def _finish_reason(reason: str | None) -> FinishReason:
    return "length" if reason == "length" else "stop"


class OpenAICompatBackend:
    """One model on an OpenAI-compatible server.

    ``model=None`` takes the first model the server lists, which is the one
    model single-model servers such as llama.cpp's serve.
    """

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        *,
        api_key: str | None = None,
        vision: bool | None = None,
        context_length: int | None = None,
    ) -> None:
        self._base_url = base_url
        self._client = _client(base_url, api_key)
        try:
            listed = {m.id: m for m in _listed(self._client, base_url)}
        except ModelError:
            self.close()
            raise
        if not listed or (model is not None and model not in listed):
            self.close()
            available = ", ".join(listed) or "none"
            raise ModelError(
                f"The server at {base_url} has no model {model!r} (it lists: {available})"
            )
        name = model if model is not None else next(iter(listed))
        meta = _metadata(listed[name])
        self._model = name
        self._capabilities = Capabilities(
            name=name,
            backend="openai-compat",
            vision=vision if vision is not None else _says_vision(meta),
            context_length=context_length or _says_context(meta) or DEFAULT_CONTEXT_LENGTH,
        )

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def close(self) -> None:
        self._client.close()

    def stream(
        self,
        messages: Sequence[Message],
        params: GenParams,
        cancel: threading.Event | None = None,
    ) -> Iterator[Event]:
        if not self._capabilities.vision and any(m.images for m in messages):
            raise ModelError(
                f"{self._model} at {self._base_url} cannot see images (the server does not say it "
                "can); if this model is a vision model, mark it as one in the settings"
            )
        return self._stream(messages, params, cancel)

    def _open(
        self, messages: Sequence[Message], params: GenParams
    ) -> openai.Stream[ChatCompletionChunk]:
        # Servers that do not know stream_options ignore it (llama_cpp.server does); the usage
        # is then estimated from the streamed deltas.
        return self._client.chat.completions.create(
            model=self._model,
            messages=cast(Any, [_wire_message(m) for m in messages]),
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=params.max_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            seed=params.seed,
            stop=list(params.stop) if params.stop else openai.omit,
            response_format=(
                cast(Any, _response_format(params.json_fields))
                if params.json_fields
                else openai.omit
            ),
        )

    def _stream(
        self,
        messages: Sequence[Message],
        params: GenParams,
        cancel: threading.Event | None,
    ) -> Iterator[Event]:
        clock = StreamClock()
        try:
            chunks = self._open(messages, params)
        except openai.APIError as exc:
            raise _translate(self._base_url, exc) from None
        pieces = 0
        finish: str | None = None
        usage: Usage | None = None
        try:
            for chunk in chunks:
                if cancel is not None and cancel.is_set():
                    yield clock.cancelled(pieces)
                    return
                if chunk.usage is not None:
                    usage = Usage(
                        prompt_tokens=chunk.usage.prompt_tokens,
                        completion_tokens=chunk.usage.completion_tokens,
                    )
                    details = chunk.usage.prompt_tokens_details
                    if details is not None and details.cached_tokens:
                        usage.cached_tokens = details.cached_tokens
                for choice in chunk.choices[:1]:
                    finish = choice.finish_reason or finish
                    if choice.delta.content:
                        clock.token()
                        pieces += 1
                        yield choice.delta.content
        except openai.APIError as exc:
            error = _translate(self._base_url, exc)
            if not clock.seen_tokens:
                raise error from None
            yield clock.failed(pieces, error)
            return
        finally:
            chunks.close()
        if finish is None:
            error = ModelError(
                f"The server at {self._base_url} ended the answer before it finished"
            )
            if not clock.seen_tokens:
                raise error
            yield clock.failed(pieces, error)
            return
        if usage is None:
            # Without include_usage the server reports nothing; each streamed delta is one token
            # on llama.cpp servers, and the prompt size stays unknown.
            usage = Usage(completion_tokens=pieces, extra={"usage_estimated": 1.0})
        usage.ttft_ms = clock.ttft_ms
        usage.tokens_per_s = clock.tokens_per_s(usage.completion_tokens)
        usage.finish_reason = _finish_reason(finish)
        yield usage
