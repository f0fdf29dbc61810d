"""``--annotate OUT.png``: a copy of the original with the boxes, points and labels drawn.

Drawing happens on the file's stored pixel grid, where the JSON coordinates
live, and the copy keeps only the EXIF orientation, so a viewer shows it the
way it shows the original. Labels are drawn upright as the viewer will show
them: each is rendered on its own and turned to match the stored grid.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from desktop.grounding.mapping import Box, Point
from desktop.ingest.image import MAX_PIXELS, SourceGeometry
from models.errors import InputError

COLORS = ((230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180))
"""Distinct on photos and on white screenshots; repeated in order."""

_ORIENTATION = 0x0112
# EXIF orientation -> how to turn an upright label patch onto the stored grid.
_TO_STORED: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def _label_patch(text: str, color: tuple[int, int, int], size: int) -> Image.Image:
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = (int(v) for v in font.getbbox(text))
    pad = max(2, size // 5)
    patch = Image.new("RGB", (right - left + 2 * pad, bottom - top + 2 * pad), color)
    ImageDraw.Draw(patch).text((pad - left, pad - top), text, fill=(255, 255, 255), font=font)
    return patch


def annotate(
    source: Path | bytes,
    geo: SourceGeometry,
    boxes: list[Box],
    points: list[Point],
    out: Path,
) -> None:
    """Write the annotated copy to ``out`` (PNG), the same size as the original."""
    if geo.width * geo.height > MAX_PIXELS:
        raise InputError.for_file(out, "the original is too large to annotate")
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    with Image.open(stream) as img:
        img.seek(0)
        canvas = img.convert("RGB")
    draw = ImageDraw.Draw(canvas)
    side = max(geo.width, geo.height)
    width = max(2, side // 300)
    text_size = max(12, side // 60)
    turn = _TO_STORED.get(geo.orientation)
    marks: list[tuple[str, tuple[float, float, float, float]]] = [
        (b.label, (b.x0, b.y0, b.x1, b.y1)) for b in boxes
    ]
    radius = width * 3
    marks += [(p.label, (p.x - radius, p.y - radius, p.x + radius, p.y + radius)) for p in points]
    for i, (label, (x0, y0, x1, y1)) in enumerate(marks):
        color = COLORS[i % len(COLORS)]
        if i < len(boxes):
            draw.rectangle((x0, y0, x1, y1), outline=color, width=width)
        else:
            draw.ellipse((x0, y0, x1, y1), fill=color, outline=(255, 255, 255), width=1)
        if not label:
            continue
        patch = _label_patch(label, color, text_size)
        if turn is not None:
            patch = patch.transpose(turn)
        # At the box's stored top-left corner, kept inside the image.
        px = int(min(max(x0, 0), max(0, canvas.width - patch.width)))
        py = int(min(max(y0 - patch.height, 0), max(0, canvas.height - patch.height)))
        canvas.paste(patch, (px, py))
    exif = Image.Exif()
    if geo.orientation != 1:
        exif[_ORIENTATION] = geo.orientation
    try:
        canvas.save(out, format="PNG", exif=exif)
    except OSError as exc:
        raise InputError.for_file(out, f"cannot be written ({exc.strerror or exc})") from exc
