"""The one function that turns an OS name into its plan (used by install, status and plan)."""

from __future__ import annotations

from desktop.integrate import linux, macos, windows
from desktop.integrate.launcher import command_for, current_platform
from desktop.integrate.plan import Plan

_BUILDERS = {"linux": linux.build, "windows": windows.build, "macos": macos.build}


def plan_for(platform: str | None = None) -> Plan:
    """The plan for ``platform`` (default: this OS), pointing at the command that starts
    this Sightline here, or at the installed app's place for another OS."""
    name = platform or current_platform()
    return _BUILDERS[name](command_for(name))
