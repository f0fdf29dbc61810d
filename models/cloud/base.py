"""What the three cloud backends share: one turn's life from images to ``Usage``.

A provider supplies five small pieces (connect its SDK client, open a
stream, read pieces and usage from it, close it, and say what an SDK
failure means); the rest is decided here once: images fitted to the
provider's limits, retries until the first piece, and the turn's cost,
with the stream itself relayed by ``models.stream_relay``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from functools import partial
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import httpx
import httpx2

from models.backend import Capabilities, Event, GenParams, Usage
from models.cloud.limits import TITLES, Provider, limits_for
from models.cloud.prepare import EncodedImage, ImageFitter
from models.cloud.pricing import context_length, cost_usd
from models.cloud.retry import Cancelled, GaveUp, RetryPolicy, Transient, gave_up_error
from models.conversation import Message
from models.errors import ModelError
from models.stream_relay import Piece, Pieces, StreamRelay

Failure = Transient | ModelError
DEFAULT_TIMEOUT_S = 120.0


def invalid_key(provider: Provider) -> ModelError:
    return ModelError(
        f"{TITLES[provider]} rejected the API key — set a valid one with "
        f"`sightline keys set {provider}`"
    )


class _Client(Protocol):
    def close(self) -> None: ...


ClientT = TypeVar("ClientT", bound=_Client)


class CloudBackend(Generic[ClientT]):
    """One cloud model; ``ClientT`` is the provider's SDK client."""

    provider: Provider
    base_url_env: ClassVar[str]
    """The environment variable that points this provider elsewhere (a proxy, a test)."""
    default_base_url: ClassVar[str]

    def __init__(
        self,
        model: str,
        api_key: str,
        base_url: str | None = None,
        *,
        policy: RetryPolicy | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.model = model
        self.base_url = base_url or os.environ.get(self.base_url_env) or self.default_base_url
        self.title = TITLES[self.provider]
        self._key = api_key
        self._policy = policy or RetryPolicy()
        self._fitter = ImageFitter(limits_for(self.provider))
        self._capabilities = Capabilities(
            name=f"{self.provider}:{model}",
            backend=self.provider,
            vision=True,
            context_length=context_length(f"{self.provider}:{model}"),
        )
        self._resources = ExitStack()
        self._client = self._connect(api_key, timeout_s, self._resources)
        self._resources.callback(self._client.close)
        self._closed = False

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def close(self) -> None:
        """The SDK client first, then anything ``_connect`` gave it (Gemini's HTTP client)."""
        self._closed = True
        self._resources.close()

    # -- what each provider supplies -----------------------------------------

    def _connect(self, api_key: str, timeout_s: float, resources: ExitStack) -> ClientT:
        """The SDK client for ``self.base_url``, with the SDK's own retries off.

        Anything else it needs closed goes on ``resources``; the client itself
        is closed by ``close``.
        """
        raise NotImplementedError

    def _open(
        self, messages: Sequence[Message], images: dict[str, EncodedImage], params: GenParams
    ) -> Any:
        raise NotImplementedError

    def _read(self, raw: Any, usage: Usage) -> Pieces:
        """Yield text as it arrives and the model's end; fill ``usage`` token counts."""
        raise NotImplementedError

    def _close_stream(self, raw: Any) -> None:
        raise NotImplementedError

    def _failure(self, exc: Exception) -> Failure | None:
        """What an SDK exception means; ``None`` for anything that is not the service's doing."""
        raise NotImplementedError

    # -- the shared turn -------------------------------------------------------

    def _scrub(self, text: str) -> str:
        """Providers sometimes quote the request back; a key must never reach a message."""
        return text.replace(self._key, "[key]") if self._key else text

    def _classify(self, exc: Exception) -> Failure | None:
        failure = self._failure(exc)
        if failure is None and isinstance(exc, httpx.TransportError | httpx2.TransportError):
            # SDKs let errors raised while reading a stream through unwrapped
            # (openai uses httpx, anthropic its fork httpx2).
            return Transient(f"the connection to {self.base_url} was lost")
        return failure

    def _transient(self, exc: Exception) -> Transient | None:
        failure = self._classify(exc)
        return failure if isinstance(failure, Transient) else None

    def _as_error(self, exc: Exception) -> ModelError | None:
        failure = self._classify(exc)
        if isinstance(failure, ModelError):
            return ModelError(self._scrub(str(failure)))
        if isinstance(failure, Transient):
            return ModelError(f"{self.title}: {self._scrub(failure.reason)}")
        return None

    def stream(
        self,
        messages: Sequence[Message],
        params: GenParams,
        cancel: threading.Event | None = None,
    ) -> Iterator[Event]:
        if self._closed:
            # Each SDK says this its own way, and one of them as a lost connection
            # that would be retried: say it once, before anything is tried.
            raise ModelError(f"{self._capabilities.name} has been closed")
        relay = StreamRelay(self._capabilities, messages, cancel)
        parts = [img for m in messages for img in m.images]
        text_bytes = sum(len(m.joined_text.encode()) for m in messages)
        fitted = self._fitter.fit(parts, text_bytes)
        images = {e.source.digest: e for e in fitted}
        usage = Usage()

        def first_piece() -> tuple[Any, Pieces]:
            """Open the stream and read up to its first piece: what a retry may repeat."""
            usage.prompt_tokens = usage.completion_tokens = usage.cached_tokens = 0
            raw = self._open(messages, images, params)
            reader = self._read(raw, usage)
            try:
                first = next(reader, None)
            except BaseException:
                self._close_stream(raw)
                raise
            return raw, _resumed(first, reader)

        if relay.cancelled:
            yield Usage(finish_reason="cancelled")
            return
        try:
            raw, pieces = self._policy.run(first_piece, self._transient, cancel)
        except Cancelled:
            yield Usage(finish_reason="cancelled")
            return
        except GaveUp as exc:
            raise gave_up_error(self.title, exc) from exc
        except Exception as exc:
            error = self._as_error(exc)
            if error is None:
                raise
            raise error from exc
        for event in relay.run(
            pieces,
            usage,
            who=self.title,
            broke=self._broke_off,
            refused=self._as_error,
            close=partial(self._close_stream, raw),
        ):
            if isinstance(event, Usage):
                event.images_sent = len(fitted)
                event.cost_usd = cost_usd(
                    self._capabilities.name, event, [(e.width, e.height) for e in fitted]
                )
            yield event

    def _broke_off(self, exc: Exception, _pieces: int) -> str | None:
        error = self._as_error(exc)
        if error is None:
            return None
        return f"the answer broke off ({error}); what arrived is kept"


def _resumed(first: Piece | None, rest: Pieces) -> Pieces:
    """The stream again from its first piece, which was read while retries were allowed."""
    try:
        if first is not None:
            yield first
        yield from rest
    finally:
        rest.close()
