"""Client-side timing of a streamed answer.

Servers report their own durations, but the user waits for the network and
the queue too, so time to first token is always measured here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


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
