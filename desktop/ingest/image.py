"""A picture file becomes model-ready pixels: upright, RGB, no metadata, no bigger than needed.

Models see a few hundred pixels a side, so a 24-megapixel photo is never
decoded in full: JPEG's DCT scaling (``draft``) decodes at 1/2, 1/4 or 1/8
size straight away, and only the last step is a careful resize. The output
is raw pixels, so EXIF (GPS, camera), XMP, ICC comments and PNG text never
travel further than this module.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError, features

from desktop.ingest.sniff import Kind
from models.conversation import ImagePart
from models.errors import InputError

MAX_PIXELS = 178_956_970
"""Pillow's default decompression-bomb threshold (about 179 MP), enforced before decoding."""

# Pillow's own check warns through the process-wide warnings filters, which are not safe to
# change from the worker threads ingestion runs on; the same limit is checked below instead.
Image.MAX_IMAGE_PIXELS = None

_WHITE = (255, 255, 255)


@functools.cache
def optional_decoders() -> frozenset[Kind]:
    """What this build can also decode: HEIC/HEIF with pillow-heif, AVIF with Pillow's plugin.

    Without them those files keep their "not supported" message.
    """
    found: set[Kind] = set()
    try:
        import pillow_heif
    except ImportError:
        pass
    else:
        pillow_heif.register_heif_opener()
        found.add(Kind.HEIC)
    if features.check("avif"):
        found.add(Kind.AVIF)
    return frozenset(found)


def fit_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """The size that fits within ``max_side``, keeping the aspect ratio, never upscaling."""
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any mode to 8-bit RGB; transparency is laid on white, as a viewer shows it."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        arr8 = np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8)
        return Image.fromarray(arr8, "L").convert("RGB")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBa", "La"):
        img = img.convert("RGBA")
    if img.mode in ("LA", "PA"):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        background = Image.new("RGB", img.size, _WHITE)
        background.paste(img, mask=img.getchannel("A"))
        return background
    if img.mode != "RGB":
        return img.convert("RGB")
    return img


def prepare_image(
    source: Path | bytes,
    label: str,
    kind: Kind,
    max_side: int,
    on_notice: Callable[[str], None] | None = None,
) -> ImagePart:
    """Decode, orient, flatten and downscale one image; errors name ``label``."""
    stream: IO[bytes] | Path = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        img: Image.Image = Image.open(stream)
        width, height = img.size
        if width * height > MAX_PIXELS:
            raise InputError.for_file(
                label,
                f"the image is too large to open safely ({width:,} x {height:,} = "
                f"{width * height / 1e6:.0f} megapixels; the limit is {MAX_PIXELS / 1e6:.0f})",
            )
        frames = getattr(img, "n_frames", 1)
        if getattr(img, "is_animated", False) and frames > 1:
            img.seek(0)
            if on_notice:
                on_notice(f"{label}: animated ({frames} frames); using the first frame")
        if img.format == "JPEG":
            img.draft("RGB", fit_size(width, height, max_side))
        img.load()
        img = ImageOps.exif_transpose(img) or img
        img = _to_rgb(img)
        target = fit_size(img.width, img.height, max_side)
        if target != img.size:
            img = img.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
    except InputError:
        raise
    except UnidentifiedImageError as exc:
        raise InputError.for_file(
            label, f"the {kind.value} data could not be read (damaged or not really {kind.value})"
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputError.for_file(
            label, f"the {kind.value} image is truncated or damaged ({exc})"
        ) from exc
    return ImagePart.from_rgb(img.width, img.height, img.tobytes(), label=label)
