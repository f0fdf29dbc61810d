"""A folder described against a server with parallel slots: --jobs 1 vs --jobs 8.

    python3 bench/bench_batch_server.py [--images 40] [--runs 3]

The server is the suite's Ollama stand-in (tests/ollama_standin.py), in this
process, answering each request in about 200 ms (five chunks 40 ms apart)
with 8 slots, and "busy" (503) beyond them — what continuous batching or
llama-server's parallel slots look like from outside. Both sides run the
real ``sightline batch`` command as a separate process; medians of wall time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image

from tests.ollama_standin import OllamaStandin, StandinModel

REPO = Path(__file__).resolve().parent.parent


def batch(folder: Path, jobs: int, url: str, home: Path) -> float:
    env = {"OLLAMA_HOST": url, "SIGHTLINE_HOME": str(home), "PATH": "/usr/bin:/bin"}
    begun = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "desktop.cli", "batch", str(folder), "--model", "ollama:llava:7b",
         "--jobs", str(jobs), "--force", "--out", str(home / "out.jsonl")],
        cwd=REPO, env=env, check=True, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - begun


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    standin = OllamaStandin({"llava:7b": StandinModel(vision=True)}, slots=8, chunk_delay=0.04)
    standin.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            folder = root / "photos"
            folder.mkdir()
            for i in range(args.images):
                Image.new("RGB", (320, 240), (i * 5 % 255, 90, 160)).save(folder / f"{i:03}.jpg")
            times: dict[int, list[float]] = {1: [], 8: []}
            for run in range(args.runs):  # interleaved, so drift hits both alike
                for jobs in (1, 8):
                    times[jobs].append(
                        batch(folder, jobs, standin.url, root / f"home-{run}-{jobs}")
                    )
    finally:
        standin.stop()
    one, eight = statistics.median(times[1]), statistics.median(times[8])
    print(f"{args.images} images, ~200 ms per request, 8 slots, {args.runs} runs, medians")
    print(f"{'--jobs':<8}{'wall s':>10}")
    print(f"{'1':<8}{one:>10.2f}")
    print(f"{'8':<8}{eight:>10.2f}")
    print(f"speed-up --jobs 8 vs 1: {one / eight:.2f}x (target >= 6)")
    print(f"busy answers from the server: {standin.busy_refusals}")


if __name__ == "__main__":
    main()
