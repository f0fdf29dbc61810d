"""Turning prepared pixels into the bytes a model server accepts.

Servers reached over HTTP take images as encoded files, not raw pixels. PNG
keeps screenshots and rendered pages exact and small; photos compress far
better as JPEG, which vision models are trained on anyway, and PNG-encoding
a 1344 px photo takes a quarter of a second or more against a few
milliseconds for JPEG (``bench/bench_image_codec.py``). So ``encode_for_wire`` sends images with
many colours (photos) as JPEG straight away, and for the rest keeps whichever
of PNG and JPEG is smaller.

Conversations resend every image on every turn, so the last few encodings
are kept by digest.
"""

from __future__ import annotations

import base64
import io
from collections import OrderedDict
from threading import Lock

from PIL import Image

from models.conversation import ImagePart
from models.errors import InputError

JPEG_QUALITY = 90
_FEW_COLOURS = 4096
_CACHE_SIZE = 8

_cache: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
_cache_lock = Lock()


def _to_image(part: ImagePart) -> Image.Image:
    expected = part.width * part.height * 3
    if part.width <= 0 or part.height <= 0 or len(part.rgb) != expected:
        raise InputError.for_file(
            part.label or part.digest[:12],
            f"image data is {len(part.rgb)} bytes but a {part.width}x{part.height} RGB image "
            f"needs {expected}",
        )
    return Image.frombytes("RGB", (part.width, part.height), part.rgb)


def fit_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """The size that fits within ``max_side``, keeping the aspect ratio, never upscaling."""
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def encode_png(part: ImagePart) -> bytes:
    out = io.BytesIO()
    # Level 3: a third of level 6's time on noisy images for a few percent more bytes.
    _to_image(part).save(out, format="PNG", compress_level=3)
    return out.getvalue()


def encode_jpeg(part: ImagePart, quality: int = JPEG_QUALITY) -> bytes:
    out = io.BytesIO()
    _to_image(part).save(out, format="JPEG", quality=quality, subsampling=0 if quality >= 90 else 2)
    return out.getvalue()


def encode_for_wire(part: ImagePart) -> tuple[str, bytes]:
    """Return ``(mime type, file bytes)``, the smaller of PNG and JPEG."""
    with _cache_lock:
        hit = _cache.get(part.digest)
        if hit is not None:
            _cache.move_to_end(part.digest)
            return hit
    result = ("image/jpeg", encode_jpeg(part))
    if _to_image(part).getcolors(maxcolors=_FEW_COLOURS) is not None:
        png = encode_png(part)
        if len(png) <= len(result[1]):
            result = ("image/png", png)
    with _cache_lock:
        _cache[part.digest] = result
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def data_url(part: ImagePart) -> str:
    """The image as a ``data:`` URL, the form OpenAI-style ``image_url`` parts take."""
    return encoded_data_url(*encode_for_wire(part))


def encoded_data_url(mime: str, data: bytes) -> str:
    """Already encoded image bytes as a ``data:`` URL."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
