"""Encoding model-ready pixels for servers that take files, not pixels.

Ollama and OpenAI-compatible servers take PNG or JPEG. Encoding from raw
pixels writes no metadata at all, whatever the original file carried.
"""

from __future__ import annotations

import base64
import io

from PIL import Image

from models.conversation import ImagePart


def _image(part: ImagePart) -> Image.Image:
    return Image.frombytes("RGB", (part.width, part.height), part.rgb)


def encode_png(part: ImagePart) -> bytes:
    buf = io.BytesIO()
    _image(part).save(buf, "PNG", compress_level=3)
    return buf.getvalue()


def encode_jpeg(part: ImagePart, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    _image(part).save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def data_url(part: ImagePart) -> str:
    """A PNG data URL: lossless, so the server sees the same pixels a local model would."""
    return "data:image/png;base64," + base64.b64encode(encode_png(part)).decode("ascii")
