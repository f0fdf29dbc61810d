"""Batches against a server with limited room: many requests in flight, none lost or repeated."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.cli_runner import sightline
from tests.ollama_standin import OllamaStandin, StandinModel


@pytest.fixture
def ollama() -> Iterator[OllamaStandin]:
    standin = OllamaStandin({"llava:7b": StandinModel(vision=True)}).start()
    yield standin
    standin.stop()


def pictures(folder: Path, count: int) -> list[Path]:
    paths = []
    for i in range(count):
        paths.append(folder / f"p{i:02}.png")
        Image.new("RGB", (32, 24), (i * 6, 100, 200 - i * 4)).save(paths[-1])
    return paths


def assert_each_answered_once(
    r: subprocess.CompletedProcess[str], photos: Path, out: Path, refusals: int, slots: int
) -> None:
    """Every file is in the results and in --out once, and a full server was really full."""
    assert r.returncode == 0, r.stderr
    *rows, summary = (json.loads(line) for line in r.stdout.splitlines())
    assert Counter(row["path"] for row in rows) == {str(p): 1 for p in sorted(photos.iterdir())}
    assert all(row["error"] is None and row["text"] for row in rows)
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(w["path"] for w in written) == sorted(row["path"] for row in rows)
    assert summary["done"] == len(rows)
    assert refusals > 0, "the stand-in was really full"
    assert summary["retries"] == refusals
    assert summary["concurrency"] <= slots, "settled within the server's room"


def test_a_full_server_lowers_the_concurrency_and_every_file_is_answered_once(
    cli_env: dict[str, str], ollama: OllamaStandin, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    pictures(photos, 40)
    ollama.slots = 3
    ollama.chunk_delay = 0.02
    env = dict(cli_env, OLLAMA_HOST=ollama.url)
    out = tmp_path / "alt.jsonl"
    r = sightline(
        env, "batch", photos, "--model", "ollama:llava:7b", "--jobs", "8", "--out", out, "--json"
    )
    assert_each_answered_once(r, photos, out, ollama.busy_refusals, slots=3)
    answered = len(ollama.chats()) - ollama.busy_refusals
    assert answered == 40, "each file answered exactly once"


def test_a_server_that_dies_mid_batch_leaves_the_finished_rows_and_a_clear_error(
    cli_env: dict[str, str], ollama: OllamaStandin, tmp_path: Path
) -> None:
    import sys
    import threading
    import time

    photos = tmp_path / "photos"
    photos.mkdir()
    pictures(photos, 30)
    ollama.chunk_delay = 0.05
    out = tmp_path / "alt.jsonl"

    def kill_after_some() -> None:
        deadline = time.monotonic() + 60
        while len(ollama.chats()) < 6 and time.monotonic() < deadline:
            time.sleep(0.02)
        ollama.cut_after = 0  # answers in progress break off, as when the process dies
        ollama.stop()

    killer = threading.Thread(target=kill_after_some)
    killer.start()
    r = subprocess.run(
        [sys.executable, "-m", "desktop.cli", "batch", str(photos), "--model", "ollama:llava:7b",
         "--jobs", "4", "--out", str(out)],
        env=dict(cli_env, OLLAMA_HOST=ollama.url), capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    killer.join()
    assert r.returncode == 3, r.stderr  # the backend became unusable
    assert "Traceback" not in r.stderr
    assert "Ollama" in r.stderr.splitlines()[-1]
    finished = [json.loads(line) for line in out.read_text().splitlines()]
    assert 0 < len(finished) < 30
    assert all(row["text"] for row in finished if not row["error"])


@pytest.mark.parametrize("status", [429, 503])
def test_a_full_openai_compatible_server_is_busy_not_broken(
    start_standin: Any, status: int
) -> None:
    from models.backend import GenParams, Usage
    from models.conversation import Message
    from models.errors import ServerBusyError
    from models.openai_compat_backend import OpenAICompatBackend
    from tests.cloud_standins import Fault

    standin = start_standin("openai", faults=[Fault(status, retry_after="2")])
    backend = OpenAICompatBackend(standin.url, "gpt-4.1-mini", api_key=standin.key, vision=True)
    with pytest.raises(ServerBusyError) as refused:
        list(backend.stream([Message.text("user", "Hi")], GenParams(max_tokens=4)))
    assert refused.value.retry_after == 2
    events = list(backend.stream([Message.text("user", "Hi")], GenParams(max_tokens=4)))
    assert isinstance(events[-1], Usage)
    assert "".join(e for e in events if isinstance(e, str))


def test_a_cloud_batch_stops_at_max_cost_and_resumes_from_there(
    cli_env: dict[str, str], start_standin: Any, tmp_path: Path
) -> None:
    standin = start_standin("openai")
    env = dict(cli_env, OPENAI_BASE_URL=standin.url, OPENAI_API_KEY=standin.key)
    photos = tmp_path / "photos"
    photos.mkdir()
    pictures(photos, 6)
    out = tmp_path / "alt.jsonl"
    args = ["batch", photos, "--model", "openai:gpt-4.1-mini", "--allow-cloud", "--jobs", "1"]
    r = sightline(env, *args, "--out", out, "--json", "--max-cost", "0.0001")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.splitlines()[-1])
    assert summary["cost_usd"] >= 0.0001
    assert 1 <= summary["done"] < 6, "stopped once the limit was spent"
    assert "stopped at --max-cost" in r.stderr
    assert "could cost up to" in r.stderr, "the estimate was over the limit, and said so"
    rest = sightline(env, *args, "--out", out, "--json")
    assert rest.returncode == 0, rest.stderr
    again = json.loads(rest.stdout.splitlines()[-1])
    assert again["skipped"] == summary["done"]
    assert again["done"] == 6 - summary["done"]


def test_max_cost_must_be_positive(cli_env: dict[str, str], tmp_path: Path) -> None:
    r = sightline(cli_env, "batch", tmp_path, "--max-cost", "0")
    assert r.returncode == 2
    assert "--max-cost must be a positive amount" in r.stderr


def test_cloud_answers_that_break_off_with_others_in_flight_stay_failures_and_are_paid_for(
    cli_env: dict[str, str], start_standin: Any, tmp_path: Path
) -> None:
    standin = start_standin("openai", cut_after=2, piece_delay=0.05)
    env = dict(cli_env, OPENAI_BASE_URL=standin.url, OPENAI_API_KEY=standin.key)
    photos = tmp_path / "photos"
    photos.mkdir()
    pictures(photos, 4)
    r = sightline(
        env, "batch", photos, "--model", "openai:gpt-4.1-mini", "--allow-cloud", "--jobs", "4",
        "--json",
    )  # fmt: skip
    assert r.returncode == 2, r.stderr
    *rows, summary = (json.loads(line) for line in r.stdout.splitlines())
    assert summary["failed"] == 4
    assert summary["retries"] == 0, "not asked again"
    assert all("stopped early" in row["error"] for row in rows)
    assert summary["cost_usd"] > 0, "the broken answers are counted"
    chats = [c for c in standin.received if c.path.endswith("/chat/completions")]
    assert len(chats) == 4
