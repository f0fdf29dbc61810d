"""The history shared by real processes: first starts racing, readers beside a live writer."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop.history.migrations import MIGRATIONS
from desktop.history.store import HistoryStore
from tests.cli_runner import sightline

REPO = Path(__file__).resolve().parent.parent

_OPEN_AT = """
import sys, time
from pathlib import Path
from desktop.history.store import HistoryStore
start = float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
s = HistoryStore.open(Path(sys.argv[1]))
s.create_conversation("from %s" % sys.argv[3])
s.close()
"""


@pytest.mark.parametrize("round_", range(3))
def test_processes_starting_together_on_a_fresh_home_all_succeed(
    tmp_path: Path, round_: int
) -> None:
    database = tmp_path / "data" / "history.sqlite3"
    start = time.time() + 2.0  # every process is imported and waiting by then
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN_AT, str(database), str(start), str(n)],
            cwd=REPO,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(6)
    ]
    errors = [c.communicate(timeout=120)[1] for c in children]
    assert [c.returncode for c in children] == [0] * 6, errors
    s = HistoryStore.open(database)
    assert len(s.list_conversations()) == 6
    assert s.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    s.close()


def test_migrating_twice_changes_nothing(tmp_path: Path) -> None:
    from desktop.history.migrations import migrate

    s = HistoryStore.open(tmp_path / "h.sqlite3")
    assert migrate(s.db) == len(MIGRATIONS)
    s.close()


_STREAMING_WRITER = """
import sys
from pathlib import Path
from desktop.history.store import HistoryStore
s = HistoryStore.open(Path(sys.argv[1]))
cid = s.create_conversation()
s.add_user_message(cid, "q", [])
w = s.start_answer(cid, "m", "embedded")
w.append("still talking")
print("streaming", flush=True)
sys.stdin.readline()  # the model is still answering until told otherwise
w.append(" and done")
"""


def _status(database: Path) -> str:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return str(db.execute("SELECT status FROM messages WHERE role = 'assistant'").fetchone()[0])


def test_listing_the_history_elsewhere_leaves_a_live_answer_streaming(
    sightline_home: Path, cli_env: dict[str, str]
) -> None:
    database = sightline_home / "data" / "history.sqlite3"
    writer = subprocess.Popen(
        [sys.executable, "-c", _STREAMING_WRITER, str(database)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "streaming"
        r = sightline(cli_env, "history", "list")
        assert r.returncode == 0, r.stderr
        HistoryStore.open(database).close()
        assert _status(database) == "streaming", "a reader must not cut off a live answer"
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=30)
        r = sightline(cli_env, "history", "list")
        assert r.returncode == 0, r.stderr
        assert _status(database) == "partial", "its writer is gone: the answer was interrupted"
        writers = database.with_name(database.name + ".writers")
        assert list(writers.glob("*.lock")) == [], "the dead writer's lock file is swept"
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
