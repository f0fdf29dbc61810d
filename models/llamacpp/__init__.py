"""Embedded llama.cpp inference through llama-cpp-python's multimodal (mtmd) bindings.

Importing this package loads llama.cpp's shared libraries, so callers import
it lazily, only when a local model is actually used.
"""

from models.llamacpp.backend import LlamaCppBackend

__all__ = ["LlamaCppBackend"]
