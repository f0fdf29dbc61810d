"""Client-side timing of a streamed answer, and the ``Usage`` of one that ends early.

Servers report their own durations, but the user waits for the network and
the queue too, so time to first token is always measured here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from models.backend import Usage
from models.errors import ModelError


@dataclass(slots=True)
class StreamClock:
    started: float = field(default_factory=time.perf_counter)
    first_token: float | None = None

    def token(self) -> None:
        if self.first_token is None:
            self.first_token = time.perf_counter()

    @property
    def seen_tokens(self) -> bool:
        return self.first_token is not None

    @property
    def ttft_ms(self) -> float:
        return 0.0 if self.first_token is None else (self.first_token - self.started) * 1000

    def tokens_per_s(self, completion_tokens: int) -> float:
        """Rate after the first token, the part of the answer the user watches."""
        if self.first_token is None or completion_tokens < 2:
            return 0.0
        elapsed = time.perf_counter() - self.first_token
        return (completion_tokens - 1) / elapsed if elapsed > 0 else 0.0

    def cancelled(self, completion_tokens: int) -> Usage:
        return Usage(
            completion_tokens=completion_tokens,
            ttft_ms=self.ttft_ms,
            tokens_per_s=self.tokens_per_s(completion_tokens),
            finish_reason="cancelled",
        )

    def failed(self, completion_tokens: int, error: ModelError) -> Usage:
        """The end of an answer that broke after its first token: the text so far stays."""
        return Usage(
            completion_tokens=completion_tokens,
            ttft_ms=self.ttft_ms,
            finish_reason="error",
            error=str(error),
        )
