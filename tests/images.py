"""Small real images for tests that do not go through ingestion."""

from __future__ import annotations

from PIL import Image, ImageDraw

from models.conversation import ImagePart


def image_part(color: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> ImagePart:
    """A solid image with a contrasting mark, so different colours give different pixels."""
    img = Image.new("RGB", size, color)
    ImageDraw.Draw(img).rectangle(
        (4, 4, size[0] // 2, size[1] // 2), fill=(255 - color[0], 128, color[2])
    )
    return ImagePart.from_rgb(size[0], size[1], img.tobytes(), label=f"test-{color}")
