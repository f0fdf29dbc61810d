"""Small real images for tests that do not go through ingestion."""

from __future__ import annotations

import hashlib

from PIL import Image, ImageDraw

from models.conversation import ImagePart


def image_part(color: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> ImagePart:
    """A solid image with a contrasting mark, so different colours give different pixels."""
    img = Image.new("RGB", size, color)
    ImageDraw.Draw(img).rectangle((4, 4, size[0] // 2, size[1] // 2), fill=(255 - color[0], 128, color[2]))
    rgb = img.tobytes()
    digest = hashlib.sha256(f"{size[0]}x{size[1]}".encode() + rgb).hexdigest()
    return ImagePart(digest=digest, width=size[0], height=size[1], rgb=rgb, label=f"test-{color}")
