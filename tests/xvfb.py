"""A private X server for tests that need a real X11 display (capture, the overlay, hot keys).

Each server picks its own free display number (``-displayfd``), so parallel
runs never collide. Where Xvfb is not installed the tests skip and say why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

NO_XVFB = "Xvfb is not installed (apt-get install xvfb xdotool); the X11 tests need it"


def need_xvfb() -> None:
    if shutil.which("Xvfb") is None:
        pytest.skip(NO_XVFB)


@contextmanager
def xvfb(width: int = 800, height: int = 600) -> Iterator[str]:
    """Yield ``:N`` of a fresh Xvfb screen, stopped afterwards."""
    need_xvfb()
    read, write = os.pipe()
    proc = subprocess.Popen(
        [
            "Xvfb",
            "-displayfd",
            str(write),
            "-screen",
            "0",
            f"{width}x{height}x24",
            "-nolisten",
            "tcp",
        ],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        with os.fdopen(read) as f:
            number = f.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start")
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def xdotool(display: str, *args: str, timeout: float = 20) -> str:
    if shutil.which("xdotool") is None:
        pytest.skip("xdotool is not installed (apt-get install xdotool)")
    r = subprocess.run(
        ["xdotool", *args],
        env={**os.environ, "DISPLAY": display},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return r.stdout


def wait_for_window(display: str, title: str, timeout: float = 30) -> str:
    """The window id of the first window named ``title``, waiting for it to be mapped."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", title],
            env={**os.environ, "DISPLAY": display},
            capture_output=True,
            text=True,
            check=False,
        )
        if r.stdout.strip():
            return r.stdout.split()[0]
        time.sleep(0.1)
    raise AssertionError(f"no window named {title!r} appeared on {display}")
