"""The real ``llama_cpp.server`` on loopback, serving the suite's tiny vision model.

Shared by the tests and the batch bench: llama-cpp-python's own
OpenAI-compatible server, started as a separate process with one Llama
(it has no parallel slots) and stopped when the block ends.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

MODEL_ALIAS = "tiny"
"""The name the server gives the model (``openai-compat:tiny``)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def llama_server(
    model: Path, mmproj: Path, *extra: str, timeout: float = 60.0
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Yield the server's ``/v1`` URL and its process; ``extra`` are more server options."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model),
         "--clip_model_path", str(mmproj), "--chat_format", "mtmd",
         "--model_alias", MODEL_ALIAS, "--n_threads", "1", "--n_ctx", "2048",
         "--host", "127.0.0.1", "--port", str(port), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
            if proc.poll() is not None:
                raise RuntimeError("llama_cpp.server exited")
            if time.monotonic() > deadline:
                raise RuntimeError("llama_cpp.server did not start")
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
