"""Helpers for cloud tests: the CLI as a user runs it, and a search for leaked secrets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CLOUD_COMMANDS = ("desktop.cli.cmd_keys", "desktop.cli.cmd_cache")
_MAIN = (
    "import sys; from desktop.cli import main as m; "
    f"m._COMMAND_MODULES += tuple(c for c in {CLOUD_COMMANDS!r} if c not in m._COMMAND_MODULES); "
    "sys.exit(m.main())"
)


def run_cli(
    args: list[str], env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """``sightline ARGS`` through the real entry point, with the cloud commands registered."""
    return subprocess.run(
        [sys.executable, "-c", _MAIN, *args],
        check=False,
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def files_containing(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]
