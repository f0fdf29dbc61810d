"""Facts of each kind of vision projector: how large an image it can use, how wide its output is.

Sending a bigger image than the projector's preprocessing keeps only costs
decoding time and memory; sending a smaller one throws away detail the model
could have seen (MiniCPM-V's slices, LLaVA-1.6's grid, Qwen's dynamic
resolution). The width of the embeddings a projector hands the text model
is read from the tensor llama.cpp itself reads it from; a converter's
``projection_dim`` can be 0 (MiniCPM-V's is). The rules per projector type
are data (``resources/projectors.toml``, with the llama.cpp source each was
read from); the numbers come from the projector file itself.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

_FALLBACK_SIDE = 1344
"""For a projector that names no image size at all (a broken or unusual file)."""


@cache
def _rules() -> dict[str, Any]:
    text = resources.files("resources").joinpath("projectors.toml").read_text("utf-8")
    return tomllib.loads(text)


def _int(metadata: Mapping[str, Any], key: str) -> int | None:
    value = metadata.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _rule(metadata: Mapping[str, Any]) -> dict[str, Any]:
    rules = _rules()
    kind = metadata.get("clip.projector_type")
    known: dict[str, dict[str, Any]] = rules["types"]
    default: dict[str, Any] = rules["default"]
    return known.get(kind, default) if isinstance(kind, str) else default


def output_width(metadata: Mapping[str, Any], tensors: Mapping[str, tuple[int, ...]]) -> int | None:
    """The embedding width the projector produces (what must equal the text model's)."""
    output = _rule(metadata).get("output")
    if output is not None:
        name, index = output
        shape = tensors.get(name)
        if shape is not None and len(shape) > index:
            return int(shape[index])
    return _int(metadata, "clip.vision.projection_dim")


def max_image_side(metadata: Mapping[str, Any]) -> int:
    """The largest image side worth sending to the projector described by ``metadata``."""
    rule = _rule(metadata)
    image_size = _int(metadata, "clip.vision.image_size")
    name = rule["rule"]
    if name == "pinpoints":
        pinpoints = metadata.get("clip.vision.image_grid_pinpoints")
        if isinstance(pinpoints, list) and pinpoints and all(isinstance(p, int) for p in pinpoints):
            return int(max(pinpoints))
    elif name == "slices" and image_size:
        return int(image_size * math.sqrt(int(rule["max_slices"])))
    elif name == "tokens":
        max_pixels = _int(metadata, "clip.vision.image_max_pixels")
        patch = _int(metadata, "clip.vision.patch_size")
        merge = _int(metadata, "clip.vision.spatial_merge_size") or 2
        if max_pixels is None and patch:
            max_pixels = int(rule["max_tokens"]) * (patch * merge) ** 2
        if max_pixels:
            return math.isqrt(max_pixels)
    elif name == "longest_edge":
        return _int(metadata, "clip.vision.preproc_image_size") or image_size or _FALLBACK_SIDE
    return image_size or _FALLBACK_SIDE
