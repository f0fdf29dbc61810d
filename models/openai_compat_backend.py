"""Local servers that speak OpenAI's chat API: LM Studio, llama-server, vLLM, llama_cpp.server.

Images go as data URLs (PNG, or JPEG for photos; see ``image_codec``).
Such servers rarely say whether a model can see: where one does
(llama-server's ``capabilities``, LM Studio's ``type``) that answer is
used; where it does not, the model is offered as able to see and a server
that refuses an image has its own words shown to the user.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import httpx2
import openai

from models.backend import (
    Capabilities,
    Event,
    GenParams,
    Usage,
)
from models.cloud.retry import parse_retry_after
from models.conversation import Message
from models.entry import ModelEntry
from models.errors import ModelError, ServerBusyError
from models.image_codec import data_url
from models.openai_wire import chat_request, read_chunks, wire_messages
from models.stream_relay import StreamRelay

_PLACEHOLDER_KEY = "not-needed"


def unreachable(base_url: str) -> ModelError:
    return ModelError(
        f"the OpenAI-compatible server at {base_url} isn't reachable — start it or change "
        "the server address in settings (SIGHTLINE_OPENAI_COMPAT_URL)"
    )


STALL_TIMEOUT_S = 60.0
"""The longest wait for the first byte of an answer and between two pieces of it."""
_TIMEOUT = httpx2.Timeout(STALL_TIMEOUT_S, connect=5.0)


def _client(
    base_url: str, api_key: str | None, timeout: float | httpx2.Timeout = _TIMEOUT
) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=base_url, api_key=api_key or _PLACEHOLDER_KEY, max_retries=0, timeout=timeout
    )


def _reports_vision(extra: dict[str, Any]) -> bool:
    capabilities = extra.get("capabilities")
    if isinstance(capabilities, list):
        return any(c in ("multimodal", "vision") for c in capabilities)
    kind = extra.get("type")
    if isinstance(kind, str):
        return kind == "vlm"
    return True


def list_models(
    base_url: str, api_key: str | None = None, timeout: float = 3.0
) -> list[ModelEntry]:
    client = _client(base_url, api_key, timeout)
    try:
        return [
            ModelEntry(
                name=m.id,
                backend="openai-compat",
                vision=_reports_vision(m.model_extra or {}),
            )
            for m in client.models.list()
        ]
    except openai.APIConnectionError as exc:
        raise unreachable(base_url) from exc
    except openai.APIError as exc:
        raise ModelError(f"the server at {base_url} could not list models: {exc}") from exc
    finally:
        client.close()


_BROKEN = (openai.APIError, httpx2.HTTPError, ValueError)
"""What reading a stream raises when the server or the connection fails (ValueError: bad JSON)."""


class OpenAICompatBackend:
    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        vision: bool | None = None,
        context_length: int = 4096,
    ) -> None:
        self.base_url = base_url
        self.model = model
        self._client = _client(base_url, api_key)
        if vision is None:
            known = {e.name: e for e in list_models(base_url, api_key)}
            if model not in known:
                raise ModelError(
                    f"the server at {base_url} has no model {model!r} "
                    f"(it has: {', '.join(known) or 'none'})"
                )
            vision = known[model].vision
        self._capabilities = Capabilities(
            name=f"openai-compat:{model}",
            backend="openai-compat",
            vision=vision,
            context_length=context_length,
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
        wire = wire_messages(messages, data_url)
        try:
            stream = self._client.chat.completions.create(
                **chat_request(self.model, wire, params, "max_tokens")
            )
        except openai.APITimeoutError as exc:
            raise ModelError(
                f"the server at {self.base_url} accepted the request but did not answer "
                f"in {STALL_TIMEOUT_S:g} s"
            ) from exc
        except openai.APIConnectionError as exc:
            raise unreachable(self.base_url) from exc
        except openai.APIStatusError as exc:
            if exc.status_code in (429, 503):  # full: vLLM's queue, llama-server's slots
                raise ServerBusyError(
                    f"the server at {self.base_url} is busy ({exc.status_code}): {exc.message}",
                    parse_retry_after(exc.response.headers),
                ) from exc
            raise ModelError(
                f"the server refused the request ({exc.status_code}): {exc.message}"
            ) from exc
        usage = Usage()
        yield from relay.run(
            read_chunks(stream, usage),
            usage,
            who=f"the server at {self.base_url}",
            broke=self._broke_off,
            refused=self._not_answered,
            close=stream.close,
        )

    def _not_answered(self, exc: Exception) -> ModelError | None:
        return unreachable(self.base_url) if isinstance(exc, _BROKEN) else None

    def _broke_off(self, exc: Exception, pieces: int) -> str | None:
        if not isinstance(exc, _BROKEN):
            return None
        if isinstance(exc, httpx2.TimeoutException | openai.APITimeoutError):
            return f"the server at {self.base_url} stopped answering after {pieces} tokens"
        return f"the connection to {self.base_url} broke mid-answer"
