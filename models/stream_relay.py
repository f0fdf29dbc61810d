"""One relay from a backend's pieces to the stream every caller reads.

Each backend reads its own wire into pieces (text, and the end the model
reports) and says what its own failures mean. Everything else a user
notices about a stream is decided here once: images refused by a model
that cannot see them (in the one wording the window uses too, before
anything is sent), time to first token, tokens per second, stopping
within one piece of ``cancel``, a stream that ends without the model
finishing, a stream that breaks after the first piece keeping what
arrived, and the underlying stream being closed however the turn ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Literal

from models.backend import BackendKind, Capabilities, Event, Usage
from models.conversation import Message
from models.errors import ModelError


@dataclass(frozen=True, slots=True)
class Finished:
    """The model's own end of the answer; a stream that merely stops has none."""

    reason: Literal["stop", "length"]


Piece = str | Finished
"""Text as it arrives ("" for a token with nothing to show yet), or the model's end."""

Pieces = Generator[Piece, None, None]


_NO_VISION: dict[BackendKind, tuple[str, str]] = {
    "embedded": (
        "it was loaded without a vision projector (mmproj)",
        "pick a vision model, or import one with its mmproj",
    ),
    "ollama": (
        "Ollama reports no vision capability",
        "pick a vision model such as llava, qwen2.5vl or gemma3",
    ),
    "openai-compat": ("the server reports no vision support", "pick a vision model on that server"),
}
_NO_VISION_ELSEWHERE = ("it reports no vision support", "pick a model that can see images")


def vision_refusal(name: str, backend: BackendKind, vision: bool, has_images: bool) -> str | None:
    """Why images cannot go to this model, or ``None`` when they can (or there are none).

    Never drop an image silently: a model that cannot see says so before
    anything is sent. The window asks this of a list entry before sending;
    every backend's stream asks it of its capabilities as the turn starts.
    """
    if vision or not has_images:
        return None
    reason, advice = _NO_VISION.get(backend, _NO_VISION_ELSEWHERE)
    return f"{name} cannot see images ({reason}) — {advice}"


def _let_through(exc: Exception) -> Exception | None:
    return None


class StreamRelay:
    """One turn's stream: made as the turn starts (the clock starts), then ``run`` once."""

    def __init__(
        self,
        capabilities: Capabilities,
        messages: Sequence[Message],
        cancel: threading.Event | None,
    ) -> None:
        """Refuse images the model cannot see (``ModelError``) before anything is sent."""
        refusal = vision_refusal(
            capabilities.name,
            capabilities.backend,
            capabilities.vision,
            any(m.images for m in messages),
        )
        if refusal is not None:
            raise ModelError(refusal)
        self.cancel = cancel
        self.started = time.perf_counter()

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def run(
        self,
        pieces: Pieces,
        usage: Usage,
        *,
        who: str,
        broke: Callable[[Exception, int], str | None],
        refused: Callable[[Exception], Exception | None] = _let_through,
        close: Callable[[], object] | None = None,
    ) -> Generator[Event, None, None]:
        """Relay ``pieces`` (which fill ``usage`` as they go), then yield ``usage``.

        ``who`` names the source in "… ended the answer without finishing
        it". An exception before the first piece is raised as what
        ``refused`` makes of it (itself when that is ``None``); after it,
        ``broke`` turns it and the number of pieces into the reason the
        answer stopped, or ``None`` to let it through. ``close`` ends the
        underlying stream.
        """
        arrived = 0
        first_at = 0.0
        finished = False
        try:
            while True:
                if self.cancelled:
                    usage.finish_reason = "cancelled"
                    break
                piece = next(pieces, None)
                if piece is None:
                    break
                if isinstance(piece, Finished):
                    finished = True
                    usage.finish_reason = piece.reason
                    continue
                if not arrived:
                    first_at = time.perf_counter()
                    usage.ttft_ms = (first_at - self.started) * 1000
                arrived += 1
                if piece:
                    yield piece
        except Exception as exc:
            if not arrived:
                error = refused(exc)
                if error is None:
                    raise
                raise error from exc
            reason = broke(exc, arrived)
            if reason is None:
                raise
            usage.finish_reason = "error"
            usage.error = reason
        finally:
            pieces.close()
            if close is not None:
                close()
        if not finished and usage.finish_reason not in ("cancelled", "error"):
            usage.finish_reason = "error"
            usage.error = f"{who} ended the answer without finishing it"
        if arrived and not usage.completion_tokens:
            # Servers that send no usage while streaming stream one token per piece.
            usage.completion_tokens = arrived
            usage.completion_tokens_estimated = True
        elapsed = time.perf_counter() - first_at
        if first_at and usage.completion_tokens and not usage.tokens_per_s and elapsed > 0:
            # A server that timed its own decoding (Ollama) is believed over this clock.
            usage.tokens_per_s = usage.completion_tokens / elapsed
        yield usage
