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
import logging
import struct
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TextIO

from PIL import Image, UnidentifiedImageError, features

from desktop.ingest.sniff import Kind
from models.conversation import ImagePart
from models.errors import InputError
from models.image_codec import fit_size

MAX_PIXELS = 178_956_970
"""Pillow's default decompression-bomb threshold (about 179 MP), enforced before decoding.

At most 4 bytes a pixel in memory, so a decoded image takes at most 716 MB;
``_shrink`` keeps every later step to a strip or a reduced copy, bounding
the peak per image under 1 GB."""

# Pillow's own check warns through the process-wide warnings filters, which are not safe to
# change from the worker threads ingestion runs on; the same limit is checked below instead.
Image.MAX_IMAGE_PIXELS = None

_WHITE = (255, 255, 255)
_log = logging.getLogger(__name__)

_ORIENTATION = 0x0112


@dataclass(frozen=True, slots=True)
class SourceGeometry:
    """How a file's stored pixels relate to what the model saw.

    ``prepare_image`` turns the stored grid upright (EXIF ``orientation``,
    1-8) and then downscales; with this and the sent size, a position the
    model names can be mapped back to the file's own pixels.
    """

    width: int
    height: int
    orientation: int = 1

    @property
    def upright_size(self) -> tuple[int, int]:
        """The size after the EXIF rotation: orientations 5-8 swap the sides."""
        if self.orientation in (5, 6, 7, 8):
            return self.height, self.width
        return self.width, self.height


def source_geometry(source: Path | bytes, label: str) -> SourceGeometry:
    """The stored size and EXIF orientation, read from the header only (no decoding)."""
    stream: IO[bytes] | Path = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with Image.open(stream) as img:
            orientation = img.getexif().get(_ORIENTATION, 1)
            return SourceGeometry(
                img.width, img.height, orientation if orientation in range(1, 9) else 1
            )
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError.for_file(label, f"the image could not be read ({exc})") from exc


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


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any mode to 8-bit RGB; transparency is laid on white, as a viewer shows it."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # Only 16-bit and float images need numpy; the window and the right-click
        # start 0.1 s sooner and 15 MB lighter without it.
        import numpy as np

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


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
"""EXIF orientation -> the transposition that shows the picture upright (as ImageOps does)."""

_STRIP_PIXELS = 4_000_000
_REDUCIBLE = {"L", "LA", "RGB", "RGBA", "CMYK", "I", "F", "YCbCr", "RGBa", "La"}


def _shrink(img: Image.Image, max_side: int) -> Image.Image:
    """A box-filtered copy at most twice the target size, without a full-size converted copy.

    Converting a 169-megapixel palette PNG to RGB costs 4 bytes a pixel more
    than it took to decode; strips are converted and reduced one at a time
    instead, so the peak is the decoded image plus one strip.
    """
    factor = max(img.size) // max(1, max_side)
    if factor < 2:
        return img
    if img.mode in _REDUCIBLE:
        return img.reduce(factor)
    # Palette indices must never be averaged: those images are converted to colour first.
    transparent = img.mode == "PA" or (img.mode == "P" and "transparency" in img.info)
    mode = "RGBA" if transparent else "RGB"
    if img.mode.startswith("I;16") or img.mode == "1":
        mode = "I" if img.mode.startswith("I;16") else "L"
    width, height = img.size
    out = Image.new(mode, (-(-width // factor), -(-height // factor)))
    rows = factor * max(1, _STRIP_PIXELS // (width * factor))
    for top in range(0, height, rows):
        strip = img.crop((0, top, width, min(height, top + rows))).convert(mode)
        out.paste(strip.reduce(factor), (0, top // factor))
    return out


_collecting = threading.local()
_show_elsewhere = warnings.showwarning


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Warnings raised while this thread decodes an image are collected, never printed."""
    caught: list[str] | None = getattr(_collecting, "caught", None)
    if caught is None:
        _show_elsewhere(message, category, filename, lineno, file, line)
    else:
        caught.append(str(message))


# Installed once, at import: swapping the warning machinery per call (catch_warnings) is not
# safe on the worker threads ingestion runs on. "always" so a second damaged file is noticed.
warnings.showwarning = _show_warning
warnings.filterwarnings("always", category=UserWarning, module=r"PIL\.")


def _damage(caught: list[str], label: str) -> str | None:
    """Pillow's warnings go to the log; the user hears only of damage that shows."""
    damage = None
    for text in caught:
        _log.warning("%s: %s", label, text)
        if any(word in text.lower() for word in ("truncat", "corrupt", "damaged", "premature")):
            damage = f"{label}: the file is damaged; the picture may be incomplete"
    return damage


def prepare_image(
    source: Path | bytes,
    label: str,
    kind: Kind,
    max_side: int,
    on_notice: Callable[[str], None] | None = None,
) -> ImagePart:
    """Decode, orient, flatten and downscale one image; errors name ``label``."""
    # Pillow reports odd EXIF and truncated TIFF strips as UserWarnings: collected here (never
    # printed on the terminal), they go to the log.
    caught: list[str] = []
    _collecting.caught = caught
    try:
        img = _decode(source, label, kind, max_side, on_notice)
    finally:
        _collecting.caught = None
    damage = _damage(caught, label)
    if damage and on_notice:
        on_notice(damage)
    return ImagePart.from_rgb(img.width, img.height, img.tobytes(), label=label)


def _decode(
    source: Path | bytes,
    label: str,
    kind: Kind,
    max_side: int,
    on_notice: Callable[[str], None] | None,
) -> Image.Image:
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
        orientation = img.getexif().get(0x0112)
        img.load()
        img = _to_rgb(_shrink(img, max_side))
        if orientation in _TRANSPOSE:
            img = img.transpose(_TRANSPOSE[orientation])
        target = fit_size(img.width, img.height, max_side)
        if target != img.size:
            img = img.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
    except InputError:
        raise
    except UnidentifiedImageError as exc:
        raise InputError.for_file(
            label, f"the {kind.value} data could not be read (damaged or not really {kind.value})"
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise InputError.for_file(
            label, f"the {kind.value} image is truncated or damaged ({exc})"
        ) from exc
    return img
