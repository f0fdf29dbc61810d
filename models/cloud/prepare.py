"""Fitting images to a provider's limits before they leave the machine.

Images are encoded from raw pixels, so nothing the original file carried
(EXIF, GPS, XMP, ICC profiles, PNG text) can travel with them. Each image is
sent lossless (PNG) when that fits; otherwise it is recompressed as JPEG and,
if still too big, downscaled, until it fits both the per-image and the
whole-request budget. Results are memoised by pixel digest and budget, so a
follow-up turn that re-sends the same images does not encode them again.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

from models.cloud.limits import TITLES, ProviderLimits
from models.conversation import ImagePart
from models.errors import InputError
from models.image_codec import encode_jpeg, encode_png, fit_size

_JPEG_QUALITIES = (90, 80, 70)
_SHRINK = 0.75
_MIN_SIDE = 64
REQUEST_OVERHEAD = 64 * 1024
"""Room kept for JSON framing, headers and generation parameters."""


@dataclass(frozen=True, slots=True)
class EncodedImage:
    mime: str
    data: bytes
    width: int
    height: int
    source: ImagePart

    @property
    def base64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")

    @property
    def sent_bytes(self) -> int:
        return sent_size(len(self.data))


def sent_size(n_bytes: int) -> int:
    """Bytes once base64-encoded, which is how every provider takes inline images."""
    return 4 * math.ceil(n_bytes / 3)


def _resized(part: ImagePart, max_side: int) -> ImagePart:
    size = fit_size(part.width, part.height, max_side)
    if size == (part.width, part.height):
        return part
    img = Image.frombytes("RGB", (part.width, part.height), part.rgb)
    small = img.resize(size, Image.Resampling.LANCZOS)
    return ImagePart(part.digest, size[0], size[1], small.tobytes(), part.label)


def _encode_within(part: ImagePart, max_side: int | None, budget: int) -> EncodedImage:
    side = min(max_side or max(part.width, part.height), max(part.width, part.height))
    while True:
        current = _resized(part, side)
        # Photos rarely compress below a third of their raw size as PNG; skip the attempt.
        if sent_size(len(current.rgb)) // 3 <= budget:
            png = encode_png(current)
            if sent_size(len(png)) <= budget:
                return EncodedImage("image/png", png, current.width, current.height, part)
        for quality in _JPEG_QUALITIES:
            jpeg = encode_jpeg(current, quality)
            if sent_size(len(jpeg)) <= budget:
                return EncodedImage("image/jpeg", jpeg, current.width, current.height, part)
        if side <= _MIN_SIDE:
            raise InputError.for_file(
                part.label or part.digest[:12], "cannot be made small enough to send"
            )
        side = max(_MIN_SIDE, int(side * _SHRINK))


class ImageFitter:
    """Encodes a conversation's images for one provider; one per backend."""

    def __init__(self, limits: ProviderLimits) -> None:
        self.limits = limits
        self._memo: dict[tuple[str, int | None, int], EncodedImage] = {}

    def _encode(self, part: ImagePart, max_side: int | None, budget: int) -> EncodedImage:
        key = (part.digest, max_side, budget)
        found = self._memo.get(key)
        if found is None:
            found = _encode_within(part, max_side, budget)
            self._memo[key] = found
        return found

    def fit(self, images: Sequence[ImagePart], text_bytes: int = 0) -> list[EncodedImage]:
        """Encode every image so each one and the whole request are within the limits.

        ``text_bytes`` is the size of everything else in the request (the
        conversation's text), which shares the request budget.
        """
        limits, title = self.limits, TITLES[self.limits.provider]
        if len(images) > limits.max_images:
            raise InputError(
                f"this conversation has {len(images)} images; {title} takes at most "
                f"{limits.max_images} in one request — start a new conversation"
            )
        room = limits.max_request_bytes - text_bytes - REQUEST_OVERHEAD
        if room <= 0 or (images and room < len(images) * 1024):
            raise InputError(
                f"this conversation is too long to send to {title} "
                f"(its request limit is {limits.max_request_bytes // 1_000_000} MB)"
            )
        side = limits.side_limit(len(images))
        # Not tied to ``room``: it stays put as the conversation grows, so the memo hits.
        per_image = limits.max_image_bytes or limits.max_request_bytes
        fitted = [self._encode(p, side, per_image) for p in images]
        if sum(e.sent_bytes for e in fitted) > room:
            share = room // len(images)
            fitted = [
                e if e.sent_bytes <= share else self._encode(e.source, side, share) for e in fitted
            ]
        return fitted
