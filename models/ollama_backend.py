"""Models served by a running Ollama, through the official ``ollama`` client.

What a model can do is read from Ollama itself (``/api/show``
``capabilities`` and ``model_info``), never guessed from its name: a model
that Ollama does not list as ``vision`` is never sent an image.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import httpx
import ollama

from models.backend import Capabilities, Event, FinishReason, GenParams, Usage
from models.conversation import Message
from models.entry import ModelEntry
from models.errors import ModelError
from models.image_codec import encode_for_wire
from models.stream_clock import StreamClock

DEFAULT_NUM_CTX = 4096
VISION_EXAMPLES = "llava, llama3.2-vision, qwen2.5vl or gemma3"
_CONNECT_TIMEOUT_S = 5.0
_READ_TIMEOUT_S = 600.0
"""Loading a large model before the first token can take minutes."""


@dataclass(frozen=True, slots=True)
class PullProgress:
    """One step of ``ollama pull``: ``completed``/``total`` bytes while a layer downloads."""

    status: str
    completed: int | None = None
    total: int | None = None
    digest: str | None = None


def _client(host: str) -> ollama.Client:
    return ollama.Client(
        host=host, timeout=httpx.Timeout(_READ_TIMEOUT_S, connect=_CONNECT_TIMEOUT_S)
    )


def _unreachable(host: str) -> ModelError:
    return ModelError(
        f"Ollama isn't reachable at {host} — start it with `ollama serve` or change the host"
    )


def _translate(host: str, model: str, exc: Exception) -> ModelError:
    """One line the user can act on, for anything the client or the server raised."""
    if isinstance(exc, ConnectionError | httpx.ConnectError | httpx.ConnectTimeout):
        return _unreachable(host)
    if isinstance(exc, ollama.ResponseError):
        if exc.status_code == 404:
            return ModelError(
                f"Ollama at {host} has no model {model!r} — pull it with "
                f"`sightline models pull ollama:{model}`"
            )
        return ModelError(f"Ollama at {host} refused {model!r}: {exc.error}")
    if isinstance(exc, httpx.TimeoutException):
        return ModelError(f"Ollama at {host} did not answer in time for {model!r}")
    return ModelError(f"Ollama at {host} stopped answering for {model!r} ({type(exc).__name__})")


_ERRORS = (ConnectionError, ollama.ResponseError, httpx.HTTPError)


def _context_length(model_info: Mapping[str, Any] | None) -> int | None:
    """``<architecture>.context_length``, the length the model was trained for."""
    info = model_info or {}
    arch = info.get("general.architecture")
    value = info.get(f"{arch}.context_length")
    if value is None:
        value = next((v for k, v in info.items() if k.endswith(".context_length")), None)
    return int(value) if isinstance(value, int | float) else None


def _show(client: ollama.Client, host: str, model: str) -> tuple[bool, int | None]:
    try:
        shown = client.show(model)
    except _ERRORS as exc:
        raise _translate(host, model, exc) from None
    return "vision" in (shown.capabilities or []), _context_length(shown.modelinfo)


def list_models(host: str) -> list[ModelEntry]:
    """Every model Ollama has installed, with what each can do."""
    with _client(host) as client:
        try:
            listed = client.list().models
        except _ERRORS as exc:
            raise _translate(host, "", exc) from None
        entries = []
        for item in listed:
            name = item.model or ""
            vision, context = _show(client, host, name)
            entries.append(
                ModelEntry(
                    name=name,
                    backend="ollama",
                    vision=vision,
                    size_bytes=int(item.size) if item.size is not None else None,
                    context_length=context,
                )
            )
    return entries


def pull(
    host: str,
    name: str,
    progress: Callable[[PullProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> bool:
    """Have Ollama download ``name``; True when done, False when cancelled.

    Ollama resumes a cancelled pull where it stopped, so cancelling loses
    nothing.
    """
    with _client(host) as client:
        steps = cast(Generator[ollama.ProgressResponse], client.pull(name, stream=True))
        try:
            for step in steps:
                if cancel is not None and cancel.is_set():
                    return False
                if progress is not None:
                    progress(
                        PullProgress(step.status or "", step.completed, step.total, step.digest)
                    )
        except ollama.ResponseError as exc:
            raise ModelError(f"Ollama at {host} couldn't pull {name!r}: {exc.error}") from None
        except _ERRORS as exc:
            raise _translate(host, name, exc) from None
        finally:
            steps.close()
    return True


def _wire_message(message: Message) -> dict[str, Any]:
    wire: dict[str, Any] = {"role": message.role, "content": message.joined_text}
    if message.images:
        wire["images"] = [encode_for_wire(image)[1] for image in message.images]
    return wire


def _json_schema(fields: tuple[str, ...]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: {} for name in fields},
        "required": list(fields),
        "additionalProperties": False,
    }


def _finish_reason(done_reason: str | None) -> FinishReason:
    return "length" if done_reason == "length" else "stop"


class OllamaBackend:
    """One model in a running Ollama.

    ``num_ctx`` is sent with every request and is the context reported in
    ``capabilities``: Ollama otherwise uses its own default and silently drops
    the start of a longer conversation.
    """

    def __init__(
        self,
        host: str,
        model: str,
        *,
        keep_alive: float | str | None = None,
        num_ctx: int = DEFAULT_NUM_CTX,
    ) -> None:
        self._host = host
        self._model = model
        self._keep_alive = keep_alive
        self._client = _client(host)
        try:
            vision, trained = _show(self._client, host, model)
        except ModelError:
            self.close()
            raise
        self._num_ctx = min(num_ctx, trained) if trained else num_ctx
        self._capabilities = Capabilities(
            name=model, backend="ollama", vision=vision, context_length=self._num_ctx
        )

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def close(self) -> None:
        self._client.close()  # type: ignore[no-untyped-call]

    def stream(
        self,
        messages: Sequence[Message],
        params: GenParams,
        cancel: threading.Event | None = None,
    ) -> Iterator[Event]:
        if not self._capabilities.vision and any(m.images for m in messages):
            raise ModelError(
                f"{self._model} cannot see images (Ollama reports no vision capability); "
                f"pick a vision model such as {VISION_EXAMPLES}"
            )
        return self._stream(messages, params, cancel)

    def _stream(
        self,
        messages: Sequence[Message],
        params: GenParams,
        cancel: threading.Event | None,
    ) -> Iterator[Event]:
        options: dict[str, Any] = {
            "num_ctx": self._num_ctx,
            "num_predict": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed,
        }
        if params.stop:
            options["stop"] = list(params.stop)
        clock = StreamClock()
        chunks = cast(
            Generator[ollama.ChatResponse],
            self._client.chat(
                model=self._model,
                messages=[_wire_message(m) for m in messages],
                stream=True,
                options=options,
                format=_json_schema(params.json_fields) if params.json_fields else None,
                keep_alive=self._keep_alive,
            ),
        )
        final: ollama.ChatResponse | None = None
        pieces = 0
        try:
            for chunk in chunks:
                if cancel is not None and cancel.is_set():
                    yield clock.cancelled(pieces)
                    return
                text = chunk.message.content or ""
                if text:
                    clock.token()
                    pieces += 1
                    yield text
                if chunk.done:
                    final = chunk
                    break
        except _ERRORS as exc:
            error = _translate(self._host, self._model, exc)
            if not clock.seen_tokens:
                raise error from None
            yield clock.failed(pieces, error)
            return
        finally:
            chunks.close()
        if final is None:
            error = ModelError(f"Ollama at {self._host} closed the answer before it finished")
            if not clock.seen_tokens:
                raise error
            yield clock.failed(pieces, error)
            return
        yield _usage(final, clock)


def _usage(final: ollama.ChatResponse, clock: StreamClock) -> Usage:
    completion = final.eval_count or 0
    eval_ns = final.eval_duration or 0
    extra = {
        key: value / 1e6
        for key, value in (
            ("prompt_eval_ms", final.prompt_eval_duration),
            ("eval_ms", final.eval_duration),
            ("load_ms", final.load_duration),
            ("total_ms", final.total_duration),
        )
        if value is not None
    }
    return Usage(
        prompt_tokens=final.prompt_eval_count or 0,
        completion_tokens=completion,
        ttft_ms=clock.ttft_ms,
        tokens_per_s=completion / eval_ns * 1e9 if eval_ns else clock.tokens_per_s(completion),
        finish_reason=_finish_reason(final.done_reason),
        extra=extra,
    )
