"""Batches against an OpenAI-compatible GPU server (vLLM, llama-server) with limited slots."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.cli_runner import sightline
from tests.llama_server import MODEL_ALIAS, llama_server
from tests.ollama_standin import OllamaStandin, StandinModel
from tests.test_batch_parallel import assert_each_answered_once, pictures


def test_a_full_openai_compatible_server_lowers_the_concurrency_and_answers_each_file_once(
    cli_env: dict[str, str], start_standin: Any, tmp_path: Path
) -> None:
    server = start_standin("openai", key="not-needed", slots=3, piece_delay=0.01)
    photos = tmp_path / "photos"
    photos.mkdir()
    pictures(photos, 40)
    out = tmp_path / "alt.jsonl"
    env = dict(cli_env, SIGHTLINE_OPENAI_COMPAT_URL=server.url)
    r = sightline(
        env, "batch", photos, "--model", "openai-compat:served-vlm", "--jobs", "8",
        "--out", out, "--json",
    )  # fmt: skip
    assert_each_answered_once(r, photos, out, server.busy_refusals, slots=3)
    chats = [c for c in server.received if c.path.endswith("/chat/completions")]
    assert len(chats) == 40, "each file asked exactly once (refusals are not recorded)"


def test_ctrl_c_with_requests_in_flight_cancels_them_and_keeps_what_finished(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    ollama = OllamaStandin({"llava:7b": StandinModel(vision=True)}).start()
    ollama.chunk_delay = 0.4  # each answer takes seconds: Ctrl-C lands mid-answer
    try:
        photos = tmp_path / "photos"
        photos.mkdir()
        pictures(photos, 12)
        out = tmp_path / "alt.jsonl"
        proc = subprocess.Popen(
            [sys.executable, "-m", "desktop.cli", "batch", str(photos), "--model",
             "ollama:llava:7b", "--jobs", "4", "--out", str(out)],
            env=dict(cli_env, OLLAMA_HOST=ollama.url), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

        def rows() -> int:
            return len(out.read_text().splitlines()) if out.exists() else 0

        # Signal once the first answers are written and four newer ones have just begun:
        # those are seconds from their end, so any that finish were waited for.
        deadline = time.monotonic() + 60
        while not (rows() and len(ollama.chats()) >= rows() + 4):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        asked = len(ollama.chats())
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        ollama.stop()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    kept = [json.loads(line) for line in out.read_text().splitlines()]
    assert 1 <= len(kept) < asked, "answers in flight were cut, not waited for"
    assert all(row["text"] and row["error"] is None for row in kept)


def test_llama_cpp_server_cutting_answers_for_the_next_request_is_asked_again_one_at_a_time(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """llama_cpp.server has one model behind a lock and, by default, ends the answer in
    progress as soon as another request waits: under --jobs 8 each answer but the last
    would end unfinished. Those files are asked again with fewer in flight."""
    from tests.tinyvlm import SPEC_A, write_vlm

    model, mmproj = write_vlm(SPEC_A, tmp_path / "model")
    photos = tmp_path / "photos"
    photos.mkdir()
    pictures(photos, 6)
    out = tmp_path / "alt.jsonl"
    with llama_server(model, mmproj) as (url, _):
        r = sightline(
            dict(cli_env, SIGHTLINE_OPENAI_COMPAT_URL=url), "batch", photos,
            "--model", f"openai-compat:{MODEL_ALIAS}", "--jobs", "8", "--max-tokens", "8",
            "--out", out, "--json",
        )  # fmt: skip
    assert r.returncode == 0, r.stderr
    *rows, summary = (json.loads(line) for line in r.stdout.splitlines())
    assert Counter(row["path"] for row in rows) == {str(p): 1 for p in sorted(photos.iterdir())}
    assert all(row["error"] is None and row["text"] for row in rows), rows
    assert summary["done"] == 6
    assert summary["retries"] > 0, "the server really cut answers short"
    assert summary["concurrency"] == 1, "settled at what the server can do"
