"""A folder described against a server with parallel slots: --jobs 1 vs --jobs 8.

    python3 bench/bench_batch_server.py [--images 40] [--runs 3]
    python3 bench/bench_batch_server.py --llama-server [--images 8] [--runs 3]

The server is the suite's Ollama stand-in (tests/ollama_standin.py), in this
process, answering each request in 200 ms (five pieces and the final line,
each followed by a sixth of that) with 8 slots, and "busy" (503) beyond them —
what continuous batching or llama-server's parallel slots look like from
outside. 40 requests are 8 s one at a time and 1 s eight at a time.

``--llama-server`` runs the real ``python3 -m llama_cpp.server`` instead, on
loopback with the suite's tiny vision model, once as it starts by default
and once with ``--interrupt_requests False``, and points ``--model
openai-compat:tiny`` at it. It has one model behind a lock (no parallel
slots), so this shows what ``--jobs 8`` does against a server that answers
one request at a time.

Both sides run the real ``sightline batch`` command as a separate process;
runs interleaved, medians of wall time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image

from tests.ollama_standin import OllamaStandin, StandinModel

REPO = Path(__file__).resolve().parent.parent
JOBS = (1, 8)
REQUEST_S = 0.2
"""How long the stand-in takes to answer one request, as the issue's benchmark asks."""


def batch(
    folder: Path, jobs: int, env: dict[str, str], model: str, *extra: str
) -> tuple[float, str]:
    """Wall seconds of one whole ``sightline batch`` command, and what it printed."""
    begun = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "desktop.cli", "batch", str(folder), "--model", model,
         "--jobs", str(jobs), "--force", "--out", str(Path(env["SIGHTLINE_HOME"]) / "out.jsonl"),
         *extra],
        cwd=REPO, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return time.perf_counter() - begun, done.stdout


def pictures(folder: Path, count: int) -> None:
    folder.mkdir()
    for i in range(count):
        Image.new("RGB", (320, 240), (i * 5 % 255, 90, 160)).save(folder / f"{i:03}.jpg")


def home(root: Path, name: str) -> dict[str, str]:
    return {"SIGHTLINE_HOME": str(root / name), "PATH": "/usr/bin:/bin"}


def bench_standin(images: int, runs: int) -> None:
    standin = OllamaStandin(
        {"llava:7b": StandinModel(vision=True)}, slots=8, chunk_delay=REQUEST_S / 6
    )
    standin.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            pictures(root / "photos", images)
            times: dict[int, list[float]] = {j: [] for j in JOBS}
            inside: dict[int, list[float]] = {j: [] for j in JOBS}
            for run in range(runs):  # interleaved, so drift hits both alike
                for jobs in JOBS:
                    env = home(root, f"home-{run}-{jobs}") | {"OLLAMA_HOST": standin.url}
                    wall, printed = batch(root / "photos", jobs, env, "ollama:llava:7b", "--json")
                    times[jobs].append(wall)
                    inside[jobs].append(json.loads(printed.splitlines()[-1])["seconds"])
    finally:
        standin.stop()
    one, eight = statistics.median(times[1]), statistics.median(times[8])
    one_in, eight_in = statistics.median(inside[1]), statistics.median(inside[8])
    print(f"{images} images, {REQUEST_S * 1000:.0f} ms per request, 8 slots, {runs} runs, medians")
    print(f"{'--jobs':<8}{'wall s':>10}{'batch s':>10}{'start s':>10}")
    for jobs, wall, own in ((1, one, one_in), (8, eight, eight_in)):
        print(f"{jobs:<8}{wall:>10.2f}{own:>10.2f}{wall - own:>10.2f}")
    print(f"speed-up --jobs 8 vs 1: {one / eight:.2f}x whole command (target >= 6), "
          f"{one_in / eight_in:.2f}x the batch itself (the summary's seconds)")  # fmt: skip
    print(f"busy answers from the server: {standin.busy_refusals}")


def bench_llama_server(images: int, runs: int) -> None:
    from tests.llama_server import MODEL_ALIAS, llama_server
    from tests.tinyvlm import SPEC_A, write_vlm

    setups = {"default": (), "--interrupt_requests False": ("--interrupt_requests", "False")}
    rows: list[tuple[str, int, float, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model, mmproj = write_vlm(SPEC_A, root / "model")
        pictures(root / "photos", images)
        for setup, options in setups.items():
            with llama_server(model, mmproj, *options) as (url, _):
                times: dict[int, list[float]] = {j: [] for j in JOBS}
                last: dict[int, dict[str, Any]] = {}
                for run in range(runs):
                    for jobs in JOBS:
                        env = home(root, f"{len(rows)}-{run}-{jobs}")
                        env["SIGHTLINE_OPENAI_COMPAT_URL"] = url
                        wall, printed = batch(
                            root / "photos", jobs, env, f"openai-compat:{MODEL_ALIAS}",
                            "--max-tokens", "32", "--json",
                        )  # fmt: skip
                        times[jobs].append(wall)
                        last[jobs] = json.loads(printed.splitlines()[-1])
                rows += [(setup, j, statistics.median(times[j]), last[j]) for j in JOBS]
    print(f"llama_cpp.server, tiny vision model, {images} images, {runs} runs, medians")
    print(f"{'server':<28}{'--jobs':>7}{'wall s':>9}{'done':>6}{'failed':>8}{'retries':>9}"
          f"{'settled at':>12}")  # fmt: skip
    for setup, jobs, wall, s in rows:
        print(f"{setup:<28}{jobs:>7}{wall:>9.2f}{s['done']:>6}{s['failed']:>8}{s['retries']:>9}"
              f"{s['concurrency']:>12}")  # fmt: skip
    for setup in setups:
        one, eight = (wall for name, _, wall, _ in rows if name == setup)
        print(f"{setup}: --jobs 8 vs 1: {one / eight:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--llama-server", action="store_true", help="the real llama_cpp.server")
    parser.add_argument("--images", type=int, help="40, or 8 with --llama-server")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.llama_server:
        bench_llama_server(args.images or 8, args.runs)
    else:
        bench_standin(args.images or 40, args.runs)


if __name__ == "__main__":
    main()
