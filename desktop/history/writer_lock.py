"""Who is still writing: one lock file per process that streams answers into the history.

An answer is saved as it streams, with status ``streaming``; a crash leaves
it so, and the next open marks it ``partial``. But "the next open" may be
another process — ``history list`` in a terminal while the window is still
answering — and that must not flip a live answer. Each writing process holds
an exclusive OS lock on its own file next to the database; the row records
the file's token. The OS drops the lock when the process dies however it
dies (kill -9 included), so "the lock is free" means "the writer is gone".
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO


def _try_lock(f: IO[bytes]) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


class WriterLock:
    """Held by this process from its first streamed answer until the history is closed."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.token = f"{os.getpid()}-{os.urandom(6).hex()}"
        self._path = folder / f"{self.token}.lock"
        self._file: IO[bytes] | None = self._path.open("wb")
        if not _try_lock(self._file):  # a fresh random name: nobody else can hold it
            raise OSError(f"cannot lock {self._path}")

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self._path.unlink(missing_ok=True)


def writer_alive(folder: Path, token: str | None) -> bool:
    """Whether the process that holds ``token``'s lock is still running."""
    if not token:
        return False  # written before writers were recorded
    path = folder / f"{token}.lock"
    try:
        f = path.open("rb+")
    except OSError:
        return False
    with f:
        if not _try_lock(f):
            return True
    path.unlink(missing_ok=True)  # its writer is gone: nobody will use this file again
    return False


def sweep(folder: Path) -> None:
    """Remove the lock files of writers that are gone (a crash leaves its file behind)."""
    if not folder.is_dir():
        return
    for path in folder.glob("*.lock"):
        writer_alive(folder, path.stem)
