"""A folder of photos: ``sightline batch`` against describing the same files one at a time.

    python3 bench/bench_batch.py [--images 50] [--tokens 24] [--threads 2] [--separate 50]

On the 576-image-token model (tests/tinyvlm.py SPEC_BENCH), 1024x768 JPEGs:

(a) the sum of the model times of single in-process ``describe`` turns, one
    fresh conversation per photo on one loaded model (only the model's work:
    decoding the photo is not counted);
(b) ``BatchRunner`` over the same photos on a second loaded model, whole run,
    preparing the next photo included (it overlaps the model's answer);
(c) the ``sightline batch`` command, one process, model loading included;
(d) ``--separate`` separate ``python3 -m desktop.cli describe`` runs, each
    loading the model again.

(a) and (b) run in interleaved blocks so that a busy machine slows both
alike; CPU seconds (all threads) are shown beside wall time because on a
shared machine they are the steadier measure of work done.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from PIL import Image

from desktop.batch.inputs import BatchItem, collect
from desktop.batch.runner import BatchRunner, Finished
from desktop.ingest import ingest_file
from desktop.ingest.video import with_frame_labels
from desktop.presets import get_preset
from models.backend import GenParams, Usage
from models.conversation import ImagePart, Message, TextPart
from models.llamacpp import LlamaCppBackend
from tests.tinyvlm import SPEC_BENCH, write_vlm

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Cost:
    wall: float = 0.0
    cpu: float = 0.0
    tokens: int = 0

    def add(self, other: Cost) -> None:
        self.wall += other.wall
        self.cpu += other.cpu
        self.tokens += other.tokens


def make_photos(folder: Path, count: int) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        base = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
        img = Image.fromarray(base).resize((1024, 768), Image.Resampling.BILINEAR)
        paths.append(folder / f"photo{i:03d}.jpg")
        img.save(paths[-1], quality=90)
    return paths


def single_turns(
    backend: LlamaCppBackend, paths: list[Path], prompt: str, params: GenParams, side: int
) -> Cost:
    """On a worker thread, as the window runs a turn and as the batch runs each file."""
    cost = Cost()
    worker = threading.Thread(
        target=_single_turns, args=(backend, paths, prompt, params, side, cost)
    )
    worker.start()
    worker.join()
    return cost


def _single_turns(
    backend: LlamaCppBackend,
    paths: list[Path],
    prompt: str,
    params: GenParams,
    side: int,
    cost: Cost,
) -> None:
    for path in paths:
        images: list[ImagePart] = list(ingest_file(path, max_side=side))
        message = Message("user", (*with_frame_labels(images), TextPart(prompt)))
        wall, cpu = time.perf_counter(), time.process_time()
        for event in backend.stream([message], params):
            if isinstance(event, Usage):
                cost.tokens += event.completion_tokens
        cost.wall += time.perf_counter() - wall
        cost.cpu += time.process_time() - cpu


def batch_run(
    backend: LlamaCppBackend, items: list[BatchItem], prompt: str, params: GenParams, side: int
) -> Cost:
    runner = BatchRunner(
        backend,
        prompt,
        params,
        lambda item, cancel: list(ingest_file(item.path, max_side=side, cancel=cancel)),
    )
    cost = Cost()
    wall, cpu = time.perf_counter(), time.process_time()
    for event in runner.run(items, threading.Event()):
        if isinstance(event, Finished):
            assert event.ok, event.error
            cost.tokens += event.usage.completion_tokens
    cost.wall, cost.cpu = time.perf_counter() - wall, time.process_time() - cpu
    return cost


def cli(env: dict[str, str], *args: str) -> Cost:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    begun = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "desktop.cli", *args], env=env, check=True, capture_output=True
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Cost(time.perf_counter() - begun, cpu)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=50)
    ap.add_argument("--tokens", type=int, default=24)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--separate", type=int, default=50, help="separate describe runs to time")
    ap.add_argument("--block", type=int, default=10, help="files per interleaved block")
    a = ap.parse_args()
    n = a.images
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model, mmproj = write_vlm(SPEC_BENCH, root / "model")
        photos = root / "photos"
        photos.mkdir()
        paths = make_photos(photos, n)
        prompt = get_preset("alt-text").render()
        params = GenParams(max_tokens=a.tokens)
        side = SPEC_BENCH.image_size
        items, _ = collect([photos])
        single_backend = LlamaCppBackend(model, mmproj, n_threads=a.threads)
        batch_backend = LlamaCppBackend(model, mmproj, n_threads=a.threads)
        singles, batched = Cost(), Cost()
        try:
            single_turns(single_backend, paths[:1], prompt, params, side)  # warm up both
            batch_run(batch_backend, items[:1], prompt, params, side)
            for start in range(0, n, a.block):
                block = slice(start, start + a.block)
                singles.add(single_turns(single_backend, paths[block], prompt, params, side))
                batched.add(batch_run(batch_backend, items[block], prompt, params, side))
        finally:
            single_backend.close()
            batch_backend.close()
        home = root / "home"
        (home / "config").mkdir(parents=True)
        (home / "config" / "config.toml").write_text(f"n_threads = {a.threads}\n")
        env = dict(os.environ, SIGHTLINE_HOME=str(home), PYTHONPATH=str(REPO))
        model_args = ["--model-path", str(model), "--mmproj", str(mmproj)]
        tokens = ["--max-tokens", str(a.tokens)]
        out = str(root / "out.csv")
        command = cli(env, "batch", str(photos), *model_args, *tokens, "--out", out)
        separate = Cost()
        for p in paths[: a.separate]:
            separate.add(
                cli(env, "describe", str(p), *model_args, *tokens, "--preset", "alt-text",
                    "--no-history")
            )  # fmt: skip
    print(
        f"{n} photos 1024x768, SPEC_BENCH (576 image tokens), {a.tokens} tokens max, "
        f"{a.threads} threads; tokens generated: single {singles.tokens}, batch {batched.tokens}"
    )
    print(f"{'way':<48} {'wall s':>8} {'CPU s':>8} {'CPU s/file':>11} {'vs (a)':>7}")
    rows = [
        ("(a) sum of single describe model times", singles, n),
        ("(b) BatchRunner, decoding overlapped", batched, n),
        ("(c) sightline batch, one process", command, n),
    ]
    if a.separate:
        rows.append((f"(d) {a.separate} separate sightline describe runs", separate, a.separate))
    base = singles.cpu / n
    for name, cost, count in rows:
        per = cost.cpu / count
        print(f"{name:<48} {cost.wall:>8.2f} {cost.cpu:>8.2f} {per:>11.3f} {per / base:>6.2f}x")


if __name__ == "__main__":
    main()
