"""One relay from a backend's pieces to the stream every caller reads.

Each backend reads its own wire into pieces (text, and the end the model
reports) and says what its own failures mean. Everything else a user
notices about a stream is decided here once: time to first token, tokens
per second, stopping within one piece of ``cancel``, a stream that ends
without the model finishing, a stream that breaks after the first piece
keeping what arrived, and the underlying stream being closed however the
turn ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Literal

from models.backend import Event, Usage


@dataclass(frozen=True, slots=True)
class Finished:
    """The model's own end of the answer; a stream that merely stops has none."""

    reason: Literal["stop", "length"]


Piece = str | Finished
"""Text as it arrives ("" for a token with nothing to show yet), or the model's end."""

Pieces = Generator[Piece, None, None]


def _let_through(exc: Exception) -> Exception | None:
    return None


class StreamRelay:
    """One turn's stream: made as the turn starts (the clock starts), then ``run`` once."""

    def __init__(self, cancel: threading.Event | None) -> None:
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
