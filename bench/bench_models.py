"""Model library speed: downloads from a loopback server, and listing models.

    python3 bench/bench_models.py [--mb 300] [--runs 3]

(a) download throughput of ``models.download`` vs a bare httpx streaming
loop writing the same file from the same loopback server; (b) time for
``sightline models list``'s work with 20 installed models (GGUF headers
only, never whole files) plus an Ollama host (the stand-in from tests/).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from desktop.model_choice import all_models
from desktop.settings import Settings
from models.download import download
from tests.ollama_standin import OllamaStandin, StandinModel
from tests.tinyvlm import SPEC_A, write_vlm

SERVE = """
import os, time
from tests.file_server import FileServer
host = FileServer({{"big.gguf": os.urandom({size})}}).start()
print(host.url("big.gguf"), flush=True)
time.sleep(3600)
"""


def bare_httpx(url: str, dest: Path, hashed: bool = False) -> None:
    digest = hashlib.sha256()
    with httpx.Client() as client, client.stream("GET", url) as r, dest.open("wb") as out:
        for block in r.iter_bytes():
            out.write(block)
            if hashed:
                digest.update(block)


def timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = args.mb * 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # The server runs in its own process, as a download host would, not in our GIL.
        server = subprocess.Popen(
            [sys.executable, "-c", SERVE.format(size=size)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        ours, bare, bare_hashed = [], [], []
        trials = [
            (bare, lambda: bare_httpx(url, root / "got")),
            (bare_hashed, lambda: bare_httpx(url, root / "got", hashed=True)),
            (ours, lambda: download(url, root / "got")),
        ]
        for run in range(args.runs):  # interleaved, order rotated so no side always goes first
            for results, fn in trials[run % 3 :] + trials[: run % 3]:
                results.append(size / timed(fn))
                (root / "got").unlink()
        server.terminate()
        server.wait()

        models = root / "home" / "models"
        model, mmproj = write_vlm(SPEC_A, root / "src")
        assert mmproj is not None
        for n in range(20):
            (models / f"m{n:02d}").mkdir(parents=True)
            shutil.copy(model, models / f"m{n:02d}")
            shutil.copy(mmproj, models / f"m{n:02d}")
        os.environ["SIGHTLINE_HOME"] = str(root / "home")
        ollama = OllamaStandin(
            {f"o{n}:7b": StandinModel(vision=n % 2 == 0) for n in range(5)}
        ).start()
        settings = Settings(ollama_host=ollama.url)
        lists = []
        for _ in range(max(args.runs, 10)):
            start = time.perf_counter()
            found = all_models(settings)
            lists.append((time.perf_counter() - start) * 1000)
        ollama.stop()
    print(
        f"{args.mb} MB from loopback, {args.runs} runs; models list: {len(found)} models, medians"
    )
    print(f"{'measure':<46}{'value':>10}{'baseline':>10}{'ratio':>8}")
    o, b = statistics.median(ours) / 1e6, statistics.median(bare) / 1e6
    h = statistics.median(bare_hashed) / 1e6
    print(f"{'download MB/s (ours vs bare httpx loop)':<46}{o:>10.0f}{b:>10.0f}{o / b:>8.2f}")
    print(f"{'download MB/s (ours vs bare loop + sha256)':<46}{o:>10.0f}{h:>10.0f}{o / h:>8.2f}")
    label = "models list, 20 installed + Ollama (ms)"
    print(f"{label:<46}{statistics.median(lists):>10.1f}")


if __name__ == "__main__":
    main()
