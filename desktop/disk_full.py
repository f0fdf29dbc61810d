"""A full disk, recognised wherever Sightline writes, and said in one line.

SQLite reports a full disk in several ways: ``SQLITE_FULL`` ("database or
disk is full") when a write comes up short, but plain ``SQLITE_IOERR``
("disk I/O error") when the WAL or its shared-memory file cannot grow, and
an ``OSError`` with ``ENOSPC`` comes from everything else. All of them mean
the same to the user — free some space — so they become one error naming
the file that could not be written, with exit code 2 (the user's machine,
not a bug in Sightline).
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path

from models.errors import StorageError

_NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_SQLITE_IOERR = 10
_SQLITE_FULL = 13
_NEARLY_FULL_BYTES = 256 * 1024
"""Below this much free space an I/O error while writing is taken for a full disk."""


class DiskFullError(StorageError):
    exit_code = 2

    @classmethod
    def for_path(cls, path: Path) -> DiskFullError:
        return cls(f"the disk holding {path} is full — free some space and try again")


def _nearly_full(path: Path) -> bool:
    for folder in (path, *path.parents):
        if folder.exists():
            try:
                return shutil.disk_usage(folder).free < _NEARLY_FULL_BYTES
            except OSError:
                return False
    return False


def is_disk_full(exc: BaseException, path: Path) -> bool:
    """Whether ``exc``, raised while writing ``path``, means there is no room left."""
    if isinstance(exc, OSError):
        return exc.errno in _NO_SPACE_ERRNOS
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code == _SQLITE_FULL or "full" in str(exc).lower():
            return True
        return (code == _SQLITE_IOERR or "disk i/o error" in str(exc).lower()) and _nearly_full(
            path
        )
    return False
