"""What this machine has room for: free disk where a path will live, and memory."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

_FALLBACK_RAM = 8 * 10**9


def disk_free(path: Path) -> int:
    """Free bytes on the drive holding ``path``, even before the path exists."""
    probe = path
    while not probe.exists():
        probe = probe.parent
    return shutil.disk_usage(probe).free


def total_ram() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # not POSIX (Windows): assume a common size
        return _FALLBACK_RAM
