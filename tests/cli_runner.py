"""The ``sightline`` command as a user runs it: a real process, the given environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def sightline(
    env: dict[str, str], *args: str | Path, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desktop.cli", *map(str, args)],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
