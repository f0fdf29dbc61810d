"""The one interface every model backend implements.

A backend says what it can do as data read from the model itself, and
answers through one streaming call. The stream yields text chunks and ends
with a ``Usage``, also when it was cancelled or failed midway, so callers
always have the partial answer and the reason it ended. Before the first
chunk it may say what slow step it is in (``Progress``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from models.conversation import Message

FinishReason = Literal["stop", "length", "cancelled", "error"]
BackendKind = Literal["embedded", "ollama", "openai-compat", "openai", "anthropic", "gemini"]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a loaded model can do, read from its files or its server."""

    name: str
    backend: BackendKind
    vision: bool
    context_length: int
    max_image_side: int | None = None


@dataclass(frozen=True, slots=True)
class GenParams:
    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 0.95
    seed: int = 0
    stop: tuple[str, ...] = ()
    json_fields: tuple[str, ...] | None = None
    """When set, the answer must be one JSON object with exactly these keys."""


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    cached_tokens: int = 0
    """Prompt tokens (image tokens included) that were not evaluated again."""
    completion_tokens: int = 0
    ttft_ms: float = 0.0
    tokens_per_s: float = 0.0
    finish_reason: FinishReason = "stop"
    error: str | None = None
    """The user-facing reason when ``finish_reason`` is ``error``."""
    cost_usd: float | None = None
    """What a cloud turn cost; ``None`` where there is no price (local, or unknown)."""
    from_cache: bool = False
    """Answered from the response cache, not by the model now."""
    images_sent: int = 0
    """Images that went to a cloud service, after fitting."""
    completion_tokens_estimated: bool = False
    """``completion_tokens`` was counted from the pieces, not reported by the server."""


@dataclass(frozen=True, slots=True)
class Progress:
    """A slow step before the answer, said as it starts ("encoding image 2 of 6").

    Encoding a large image on a CPU takes seconds; without this a person
    sees nothing happen and cannot tell a slow machine from a hung one.
    """

    step: str
    done: int
    total: int

    def __str__(self) -> str:
        return f"{self.step} {self.done} of {self.total}"


Event = str | Usage | Progress


@runtime_checkable
class Backend(Protocol):
    """A loaded model that answers conversations."""

    @property
    def capabilities(self) -> Capabilities: ...

    def stream(
        self,
        messages: Sequence[Message],
        params: GenParams,
        cancel: threading.Event | None = None,
    ) -> Iterator[Event]:
        """Yield text chunks, then exactly one ``Usage``; ``Progress`` may come before the text.

        Setting ``cancel`` ends the stream within one token with
        ``finish_reason="cancelled"``; closing the iterator also stops the
        work. Errors before the first token raise ``SightlineError``; errors
        after it end the stream with ``finish_reason="error"``.
        """
        ...

    def close(self) -> None: ...
