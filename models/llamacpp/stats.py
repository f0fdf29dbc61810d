"""Counters that make the engine's work visible to tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class BackendStats:
    image_encodes: int = 0
    """Images run through the vision encoder and decoded into the KV cache."""
    image_preparations: int = 0
    """Images preprocessed by mtmd (resized, sliced, normalised)."""
    prompt_tokens_evaluated: int = 0
    state_restores: int = 0
    """Conversations resumed from a saved KV state instead of evaluated again."""
