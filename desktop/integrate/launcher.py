"""How this Sightline is started, so an integration points at the program that installed it.

A frozen build is its own executable; the installed package has the ``sightline``
script; a source checkout runs as ``python -m desktop.cli``. For another OS's plan
(``plan --platform``) the command is where that OS's installer puts the app.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path, PureWindowsPath


def current_platform() -> str:
    if sys.platform == "win32":
        return "windows"
    if sys.platform == "darwin":
        return "macos"
    return "linux"


def is_packaged() -> bool:
    """A frozen build: what the installers and the .deb put on the machine, not a pip install."""
    return bool(getattr(sys, "frozen", False))


def current_command() -> tuple[str, ...]:
    if is_packaged():
        program = Path(sys.executable).resolve()
        # Windows: the console program (sightline-cli.exe) may be the one running `integrate`,
        # but the right-click must start the windowed one beside it (no console flashing up).
        gui = program.with_name("Sightline.exe")
        return (str(gui if sys.platform == "win32" and gui.exists() else program),)
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is not None and script.stem.lower() == "sightline" and script.exists():
        return (str(script.resolve()),)
    return (sys.executable, "-m", "desktop.cli")


def installed_command(platform: str) -> tuple[str, ...]:
    """Where the release installer for ``platform`` puts the program."""
    if platform == "windows":
        local = os.environ.get("LOCALAPPDATA") or str(
            PureWindowsPath("C:/Users", getpass.getuser(), "AppData", "Local")
        )
        return (str(PureWindowsPath(local, "Programs", "Sightline", "Sightline.exe")),)
    if platform == "macos":
        return ("/Applications/Sightline.app/Contents/MacOS/Sightline",)
    return ("/usr/bin/sightline",)


def command_for(platform: str) -> tuple[str, ...]:
    return current_command() if platform == current_platform() else installed_command(platform)
