"""Cloud turns: the work done on this machine before a request leaves, and the cache.

    python3 bench/bench_cloud.py [--runs 15]

1. A follow-up turn re-sends every image of the conversation. Fitting four
   1344 px photos to Anthropic's limits is timed for a follow-up (memoised
   per backend) against encoding them afresh each turn (the baseline).
2. A repeated temperature-0 question is timed answered from the response
   cache against asking again (OpenAI SDK to a loopback stand-in, so the
   baseline has no network latency at all: a real service adds far more).
Medians of ``--runs`` runs, side by side in one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image, ImageDraw, ImageFilter

from desktop.response_cache import CachingBackend, ResponseCache
from models.backend import GenParams
from models.cloud.limits import limits_for
from models.cloud.openai_backend import OpenAIBackend
from models.cloud.prepare import ImageFitter
from models.conversation import ImagePart, Message, TextPart
from tests.cloud_standins import OpenAIStandin


def _photo(seed: int, side: int = 1344) -> ImagePart:
    """Photo-like: smooth shapes plus sensor noise, so PNG is too big and JPEG is needed."""
    img = Image.new("RGB", (side, side * 3 // 4), (seed * 40 % 255, 90, 160))
    draw = ImageDraw.Draw(img)
    for i in range(40):
        x, y = (i * 97 + seed * 13) % side, (i * 53 + seed * 7) % (side * 3 // 4)
        draw.ellipse((x, y, x + 200, y + 150), fill=((i * 31) % 255, (i * 67) % 255, 120))
    img = img.filter(ImageFilter.GaussianBlur(3))
    noise = Image.frombytes("RGB", img.size, os.urandom(img.size[0] * img.size[1] * 3))
    img = Image.blend(img, noise, 0.12)
    return ImagePart.from_rgb(img.size[0], img.size[1], img.tobytes(), f"photo{seed}.jpg")


def _median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    photos = [_photo(i) for i in range(4)]
    limits = limits_for("anthropic")
    memo = ImageFitter(limits)
    memo.fit(photos)
    follow_up = _median_ms(lambda: memo.fit(photos, text_bytes=2000), args.runs)
    fresh = _median_ms(lambda: ImageFitter(limits).fit(photos, text_bytes=2000), args.runs)
    sent = memo.fit(photos)
    formats = ", ".join(sorted({e.mime for e in sent}))

    with tempfile.TemporaryDirectory() as home:
        os.environ["SIGHTLINE_HOME"] = home
        standin = OpenAIStandin().start()
        backend = OpenAIBackend("gpt-4o", standin.key, standin.url)
        cached = CachingBackend(backend, ResponseCache())
        question = [Message("user", (photos[0], TextPart("Describe the picture.")))]
        list(cached.stream(question, GenParams()))
        hit = _median_ms(lambda: list(cached.stream(question, GenParams())), args.runs)
        ask = _median_ms(lambda: list(backend.stream(question, GenParams())), args.runs)
        cached.cache.close()
        backend.close()
        standin.stop()

    print(
        f"{args.runs} runs, medians; 4 photos of {photos[0].width}x{photos[0].height} ({formats})"
    )
    print(f"{'measure':<52}{'ms':>9}{'baseline ms':>13}")
    label = "follow-up turn: fit 4 photos (memo) vs encode afresh"
    print(f"{label:<52}{follow_up:>9.3f}{fresh:>13.1f}")
    print(f"{'repeated question: cache hit vs ask (loopback)':<52}{hit:>9.3f}{ask:>13.1f}")


if __name__ == "__main__":
    main()
