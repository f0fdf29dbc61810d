"""Embedded llama.cpp inference through llama-cpp-python's multimodal (mtmd) bindings.

Importing the backend loads llama.cpp's shared libraries, so it is loaded on
first use of ``LlamaCppBackend``; the pure parts (sequence matching, saved
state files) import without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from models.llamacpp.backend import LlamaCppBackend

__all__ = ["LlamaCppBackend"]


def __getattr__(name: str) -> Any:
    if name == "LlamaCppBackend":
        from models.llamacpp.backend import LlamaCppBackend

        return LlamaCppBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
