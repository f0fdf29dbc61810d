"""From the model's numbers to pixels of the original file.

Three steps, each undone in turn: the family's units to pixels of the image
as sent; the downscale back to the upright full-size picture; the EXIF
rotation back to the pixel grid stored in the file. Coordinates are
continuous (a box edge may sit on the image border), so a flip maps x to
``width - x``, not ``width - 1 - x``.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop.grounding.conventions import Convention
from desktop.grounding.parse import Found
from desktop.ingest.image import SourceGeometry


@dataclass(frozen=True, slots=True)
class Box:
    label: str
    x0: float
    y0: float
    x1: float
    y1: float

    def as_json(self) -> dict[str, object]:
        return {"label": self.label, "x0": self.x0, "y0": self.y0, "x1": self.x1, "y1": self.y1}


@dataclass(frozen=True, slots=True)
class Point:
    label: str
    x: float
    y: float

    def as_json(self) -> dict[str, object]:
        return {"label": self.label, "x": self.x, "y": self.y}


def _unrotate(u: float, v: float, geo: SourceGeometry) -> tuple[float, float]:
    """A point of the upright picture, on the file's stored grid (EXIF orientation 1-8)."""
    w, h, o = geo.width, geo.height, geo.orientation
    if o == 2:
        return w - u, v
    if o == 3:
        return w - u, h - v
    if o == 4:
        return u, h - v
    if o == 5:
        return v, u
    if o == 6:
        return v, h - u
    if o == 7:
        return w - v, h - u
    if o == 8:
        return w - v, u
    return u, v


def _to_sent(found: Found, conv: Convention, sent: tuple[int, int]) -> tuple[float, ...]:
    system = found.system or conv.system
    y_first = conv.y_first if found.y_first is None else found.y_first
    nums = found.numbers
    if y_first:
        nums = tuple(nums[i ^ 1] for i in range(len(nums)))  # (y, x, y, x) -> (x, y, x, y)
    if system == "pixels":
        return nums
    scale = 1.0 if system == "unit" else (1024.0 if system == "loc" else conv.scale)
    sw, sh = sent
    return tuple(n / scale * (sw if i % 2 == 0 else sh) for i, n in enumerate(nums))


def to_original(
    found: list[Found], conv: Convention, sent: tuple[int, int], geo: SourceGeometry
) -> tuple[list[Box], list[Point]]:
    """Boxes and points in the original file's pixels, clipped to it.

    ``sent`` is the size of the image the model saw. A box that ends up with
    no area inside the picture is dropped rather than drawn somewhere else.
    """
    uw, uh = geo.upright_size
    fx, fy = uw / sent[0], uh / sent[1]
    boxes: list[Box] = []
    points: list[Point] = []
    for item in found:
        nums = _to_sent(item, conv, sent)
        ups = [(nums[i] * fx, nums[i + 1] * fy) for i in range(0, len(nums), 2)]
        if not item.is_box:
            u, v = ups[0]
            if not (0 <= u <= uw and 0 <= v <= uh):
                continue
            x, y = _unrotate(u, v, geo)
            points.append(Point(item.label, round(x, 1), round(y, 1)))
            continue
        clipped = [(min(max(u, 0.0), uw), min(max(v, 0.0), uh)) for u, v in ups]
        corners = [_unrotate(u, v, geo) for u, v in clipped]
        xs = sorted(c[0] for c in corners)
        ys = sorted(c[1] for c in corners)
        if xs[1] - xs[0] < 0.5 or ys[1] - ys[0] < 0.5:
            continue
        boxes.append(Box(item.label, *(round(v, 1) for v in (xs[0], ys[0], xs[1], ys[1]))))
    return boxes, points
