"""How big and how slow each wire encoding is for the images users drop in.

Run: python3 bench/bench_image_codec.py [--runs N] [--side PX] [IMAGE ...]

Synthetic stand-ins are used when no files are given: a photo (smooth light
with sensor noise), a screenshot (flat UI with text) and a scan (text on
slightly noisy paper). Prints the median of N runs per encoder, side by side.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models import image_codec
from models.conversation import ImagePart


def _part(img: Image.Image, label: str) -> ImagePart:
    rgb = img.convert("RGB")
    return ImagePart.from_rgb(rgb.width, rgb.height, rgb.tobytes(), label)


def _photo(side: int) -> Image.Image:
    light = (
        Image.radial_gradient("L").resize((side, side)).filter(ImageFilter.GaussianBlur(side // 20))
    )
    noise = Image.effect_noise((side, side), 24).filter(ImageFilter.GaussianBlur(1))
    red = Image.blend(light, noise, 0.35)
    green = Image.blend(light.rotate(90), noise.rotate(180), 0.35)
    blue = Image.blend(light.rotate(200), noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT), 0.35)
    return Image.merge("RGB", (red, green, blue))


def _text_page(side: int, background: tuple[int, int, int]) -> Image.Image:
    img = Image.new("RGB", (side, side), background)
    draw = ImageDraw.Draw(img)
    for y in range(10, side - 20, 18):
        draw.text(
            (20, y),
            f"Invoice line {y:04d}  qty 3  unit 19.99  total 59.97  ref ABX-{y * 7}",
            fill=(20, 20, 20),
        )
    return img


def _screenshot(side: int) -> Image.Image:
    img = _text_page(side, (250, 250, 252))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, side, 40), fill=(40, 90, 200))
    draw.rectangle(
        (side - 260, 60, side - 20, side - 60), fill=(235, 238, 245), outline=(180, 180, 190)
    )
    return img


def _scan(side: int) -> Image.Image:
    page = _text_page(side, (236, 232, 220))
    grain = Image.effect_noise((side, side), 10).convert("RGB")
    return Image.blend(page, grain, 0.08)


def _wire_uncached(part: ImagePart) -> bytes:
    image_codec._cache.clear()
    return image_codec.encode_for_wire(part)[1]


def _wire_cached(part: ImagePart) -> bytes:
    return image_codec.encode_for_wire(part)[1]


def _median_ms(fn: Callable[[ImagePart], bytes], part: ImagePart, runs: int) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        size = len(fn(part))
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--side", type=int, default=1344)
    parser.add_argument("images", nargs="*", type=Path)
    args = parser.parse_args()

    if args.images:
        parts = [_part(Image.open(p), p.name) for p in args.images]
    else:
        parts = [
            _part(make(args.side), name)
            for name, make in (("photo", _photo), ("screenshot", _screenshot), ("scan", _scan))
        ]

    print(f"median of {args.runs} runs; raw = width*height*3 bytes")
    columns = (
        ("image", -14),
        ("size", 11),
        ("raw KiB", 9),
        ("PNG ms", 8),
        ("PNG KiB", 9),
        ("JPEG ms", 9),
        ("JPEG KiB", 10),
        ("wire", 6),
        ("wire ms", 9),
        ("cached ms", 10),
    )
    header = "".join(f"{name:<{-w}}" if w < 0 else f"{name:>{w}}" for name, w in columns)
    print(header)
    print("-" * len(header))
    for part in parts:
        png_ms, png_size = _median_ms(image_codec.encode_png, part, args.runs)
        jpg_ms, jpg_size = _median_ms(image_codec.encode_jpeg, part, args.runs)
        wire_ms, _ = _median_ms(_wire_uncached, part, args.runs)
        cached_ms, _ = _median_ms(_wire_cached, part, args.runs)
        mime, _ = image_codec.encode_for_wire(part)
        print(
            f"{part.label:<14}{f'{part.width}x{part.height}':>11}{len(part.rgb) / 1024:>9.0f}"
            f"{png_ms:>8.1f}{png_size / 1024:>9.0f}{jpg_ms:>9.1f}{jpg_size / 1024:>10.0f}"
            f"{mime.split('/')[1]:>6}{wire_ms:>9.1f}{cached_ms:>10.3f}"
        )


if __name__ == "__main__":
    main()
