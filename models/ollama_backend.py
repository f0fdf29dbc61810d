"""Models served by Ollama, on this machine or another, through the official SDK.

Whether a model can see comes from Ollama itself (``/api/show`` lists a
``vision`` capability); a model without it is never sent an image, and the
user is told why instead of getting an answer about a picture it never saw.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any

import httpx
import ollama

from models.backend import (
    Capabilities,
    Event,
    GenParams,
    Usage,
)
from models.conversation import Message
from models.entry import ModelEntry
from models.errors import ModelError, ServerBusyError
from models.image_codec import encode_for_wire
from models.json_grammar import object_schema
from models.stream_relay import Finished, Pieces, StreamRelay

DEFAULT_NUM_CTX = 4096
CONNECT_TIMEOUT_S = 5.0
STALL_TIMEOUT_S = 60.0
"""The longest wait for the first byte of an answer, and between two pieces of it.

A server that accepts a connection and then says nothing (a hung Ollama, a
proxy, a stopped VM) would otherwise hold the answer for minutes and then be
reported as unreachable, which it never was.
"""


def _timeout(connect: float = CONNECT_TIMEOUT_S, stall: float = STALL_TIMEOUT_S) -> httpx.Timeout:
    return httpx.Timeout(connect=connect, read=stall, write=30.0, pool=connect)


def unreachable(host: str) -> ModelError:
    return ModelError(
        f"Ollama isn't reachable at {host} — start it with `ollama serve` or change the host"
    )


def unexpected(host: str) -> ModelError:
    return ModelError(
        f"Ollama at {host} sent something unexpected (is it really Ollama, and a current version?)"
    )


def silent(host: str, seconds: float) -> ModelError:
    return ModelError(f"Ollama at {host} accepted the request but did not answer in {seconds:g} s")


def _failure(host: str, exc: Exception, stall: float) -> ModelError:
    """One reason for each way a request can fail before anything was said."""
    if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
        return silent(host, stall)
    if isinstance(exc, ConnectionError | httpx.HTTPError):
        return unreachable(host)
    return unexpected(host)  # a body that is not the JSON Ollama sends


_FAILURES = (ConnectionError, httpx.HTTPError, ValueError)
"""What the SDK raises for a dead host, a stall (httpx) and a malformed body (JSON, pydantic)."""


def tls_verify(host: str) -> ssl.SSLContext | bool:
    """What the client checks certificates against: nothing to load for a plain-http host.

    Building the usual context reads the whole certificate bundle (37 ms, at
    every start of a batch or a probe) for a connection that never uses TLS.
    The SDK follows redirects, so an http host could still point a request at
    https: a context that trusts no authority refuses it, where switching
    verification off would accept anyone. A host without a scheme is http to
    the SDK too.
    """
    scheme = host.partition("://")[0].lower() if "://" in host else "http"
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT) if scheme == "http" else True


def _client(host: str, timeout: httpx.Timeout | None = None) -> ollama.Client:
    return ollama.Client(host=host, timeout=timeout or _timeout(), verify=tls_verify(host))


def _context_length(info: Any) -> int | None:
    for key, value in (info or {}).items():
        if key.endswith(".context_length") and isinstance(value, int):
            return value
    return None


def _show(
    client: ollama.Client, host: str, model: str, stall: float = STALL_TIMEOUT_S
) -> ollama.ShowResponse:
    try:
        return client.show(model)
    except ollama.ResponseError as exc:
        if exc.status_code == 404:
            raise ModelError(
                f"Ollama at {host} has no model {model!r} — `sightline models pull ollama:{model}`"
            ) from exc
        raise ModelError(f"Ollama at {host} said: {exc.error}") from exc
    except _FAILURES as exc:
        raise _failure(host, exc, stall) from exc


def list_models(host: str, timeout: float = 3.0) -> list[ModelEntry]:
    """Every model the Ollama server has, with vision read from its capabilities."""
    client = _client(host, httpx.Timeout(timeout))
    try:
        listed = client.list().models
        entries = []
        for item in listed:
            name = item.model or ""
            shown = _show(client, host, name, timeout)
            entries.append(
                ModelEntry(
                    name=name,
                    backend="ollama",
                    vision="vision" in (shown.capabilities or []),
                    size_bytes=int(item.size) if item.size is not None else None,
                    context_length=_context_length(shown.modelinfo),
                )
            )
        return entries
    except ollama.ResponseError as exc:
        raise ModelError(f"Ollama at {host} said: {exc.error}") from exc
    except _FAILURES as exc:
        raise _failure(host, exc, timeout) from exc
    finally:
        client.close()


def pull(
    host: str,
    name: str,
    progress: Callable[[str, int | None, int | None], None] | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """``ollama pull`` through the server; closing the stream abandons it."""
    client = _client(host)
    try:
        stream = client.pull(name, stream=True)
        try:
            for update in stream:
                if cancel is not None and cancel.is_set():
                    raise ModelError(f"pull of {name} stopped; Ollama resumes it next time")
                if progress:
                    progress(update.status or "", update.completed, update.total)
        finally:
            _close_stream(stream)
    except ollama.ResponseError as exc:
        raise ModelError(f"Ollama could not pull {name}: {exc.error}") from exc
    except _FAILURES as exc:
        raise _failure(host, exc, STALL_TIMEOUT_S) from exc
    finally:
        client.close()


def _close_stream(stream: Iterator[Any]) -> None:
    """The SDK's streams are generators over an open HTTP response; closing ends the request."""
    close = getattr(stream, "close", None)
    if close is not None:
        close()


def _wire_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    wire = []
    for m in messages:
        item: dict[str, Any] = {"role": m.role, "content": m.joined_text}
        if m.images:
            item["images"] = [encode_for_wire(img)[1] for img in m.images]
        wire.append(item)
    return wire


def _pieces(chunks: Iterator[ollama.ChatResponse], usage: Usage) -> Pieces:
    """Text as Ollama streams it; the final chunk (``done``) carries the counts and timing."""
    for chunk in chunks:
        text = chunk.message.content or ""
        if text:
            yield text
        if chunk.done:
            usage.prompt_tokens = chunk.prompt_eval_count or 0
            usage.completion_tokens = chunk.eval_count or 0
            if chunk.eval_duration and usage.completion_tokens:
                usage.tokens_per_s = usage.completion_tokens / (chunk.eval_duration / 1e9)
            yield Finished("length" if chunk.done_reason == "length" else "stop")


class OllamaBackend:
    """One model in a running Ollama.

    ``num_ctx`` goes with every request and is the context length reported:
    without it Ollama runs at its own default (2048 or 4096 tokens) while the
    model says 128k, and silently drops the start of a longer conversation.
    ``stall_timeout_s`` bounds the wait for the first byte and between pieces.
    """

    def __init__(
        self,
        host: str,
        model: str,
        keep_alive: str | float | None = "10m",
        num_ctx: int = DEFAULT_NUM_CTX,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        stall_timeout_s: float = STALL_TIMEOUT_S,
    ) -> None:
        self.host = host
        self.model = model
        self.keep_alive = keep_alive
        self._stall = stall_timeout_s
        self._client = _client(host, _timeout(connect_timeout_s, stall_timeout_s))
        shown = _show(self._client, host, model, stall_timeout_s)
        trained = _context_length(shown.modelinfo)
        self._num_ctx = min(num_ctx, trained) if trained else num_ctx
        self._capabilities = Capabilities(
            name=f"ollama:{model}",
            backend="ollama",
            vision="vision" in (shown.capabilities or []),
            context_length=self._num_ctx,
            max_image_side=None,
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
        relay = StreamRelay(self._capabilities, messages, cancel)
        options: dict[str, Any] = {
            "num_ctx": self._num_ctx,
            "num_predict": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed,
        }
        if params.stop:
            options["stop"] = list(params.stop)
        try:
            chunks = self._client.chat(
                self.model,
                messages=_wire_messages(messages),
                stream=True,
                options=options,
                keep_alive=self.keep_alive,
                format=object_schema(params.json_fields) if params.json_fields else None,
            )
        except ollama.ResponseError as exc:
            raise self._refused(exc) from exc
        except _FAILURES as exc:
            raise _failure(self.host, exc, self._stall) from exc
        usage = Usage()
        yield from relay.run(
            _pieces(chunks, usage),
            usage,
            who=f"Ollama at {self.host}",
            broke=self._broke_off,
            refused=self._not_answered,
            close=partial(_close_stream, chunks),
        )

    def _refused(self, exc: ollama.ResponseError) -> ModelError:
        """Why Ollama would not answer; a full server is busy, which is worth a retry."""
        busy = exc.status_code in (429, 503) or "maximum pending requests" in str(exc.error)
        if busy:
            return ServerBusyError(f"Ollama at {self.host} is busy ({exc.error})")
        return ModelError(f"Ollama could not answer with {self.model}: {exc.error}")

    def _not_answered(self, exc: Exception) -> ModelError | None:
        """Why nothing was said: the SDK sends the request when the stream is first read."""
        if isinstance(exc, ollama.ResponseError):
            return self._refused(exc)
        if isinstance(exc, _FAILURES):
            return _failure(self.host, exc, self._stall)
        return None

    def _broke_off(self, exc: Exception, pieces: int) -> str | None:
        """Why an answer that had started stopped; what was said is kept by the caller."""
        if isinstance(exc, ollama.ResponseError):
            return f"Ollama stopped: {exc.error}"
        if not isinstance(exc, _FAILURES):
            return None
        said = f"after {pieces} token{'s' if pieces != 1 else ''}"
        if isinstance(exc, httpx.TimeoutException):
            return f"Ollama at {self.host} stopped answering {said} (nothing for {self._stall:g} s)"
        if isinstance(exc, ValueError):
            return f"Ollama at {self.host} sent something unexpected {said}"
        return f"the connection to Ollama at {self.host} broke mid-answer ({said})"
