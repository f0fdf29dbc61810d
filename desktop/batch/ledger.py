"""What a batch has already written, so a re-run skips it and never clobbers a stranger's file.

A result is remembered by the file's content hash, the model and the prompt,
together with where it was written (an ``--out`` file or a sidecar). A
sidecar is ours only while it still holds exactly what we wrote: one the
user edited, or one that was there before, is never overwritten without
``--force``. Kept in the data folder, beside the history.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from desktop.paths import app_paths

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    content_sha TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt_sha TEXT NOT NULL,
    destination TEXT NOT NULL,
    PRIMARY KEY (content_sha, model, prompt_sha, destination)
);
CREATE TABLE IF NOT EXISTS sidecars (
    path TEXT PRIMARY KEY,
    content_sha TEXT NOT NULL
);
"""


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Ledger:
    def __init__(self, path: Path | None = None) -> None:
        path = path or app_paths().ensure().data_dir / "batch.sqlite3"
        self._db = sqlite3.connect(path)
        self._db.executescript(_SCHEMA)

    def has(self, content_sha: str, model: str, prompt_sha: str, destination: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM results WHERE content_sha=? AND model=? AND prompt_sha=? "
            "AND destination=?",
            (content_sha, model, prompt_sha, destination),
        ).fetchone()
        return row is not None

    def record(
        self, content_shas: Iterable[str], model: str, prompt_sha: str, destinations: Iterable[str]
    ) -> None:
        rows = [(c, model, prompt_sha, d) for c in set(content_shas) for d in destinations]
        with self._db:
            self._db.executemany("INSERT OR IGNORE INTO results VALUES (?, ?, ?, ?)", rows)

    def owns(self, sidecar: Path) -> bool:
        """Whether the file holds exactly what a batch wrote there (or does not exist)."""
        if not sidecar.exists():
            return True
        row = self._db.execute(
            "SELECT content_sha FROM sidecars WHERE path=?", (str(sidecar.resolve()),)
        ).fetchone()
        return row is not None and row[0] == file_sha256(sidecar)

    def wrote(self, sidecar: Path) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO sidecars VALUES (?, ?)",
                (str(sidecar.resolve()), file_sha256(sidecar)),
            )

    def close(self) -> None:
        self._db.close()
