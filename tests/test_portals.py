"""Wayland's portals, where the desktop has none: a clear sentence, never a hang or a crash.

A private session bus (dbus-daemon) stands in for a desktop without
xdg-desktop-portal; the calls run in a child process so the bus the test
suite's own process might use is untouched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import REPO

SCRIPT = """
import sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from models.errors import SightlineError
from desktop.ui.screen_grab import grab_screen, pick_screen
from desktop.ui.hotkeys import GlobalShortcut
try:
    grab_screen(pick_screen(None))
except SightlineError as exc:
    print("capture:", exc.exit_code, exc)
print("shortcut:", GlobalShortcut().register())
"""


@pytest.fixture
def session_bus() -> Iterator[str]:
    if shutil.which("dbus-daemon") is None:
        pytest.skip("dbus-daemon is not installed; the portal tests need a session bus")
    proc = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    address = proc.stdout.readline().strip()
    yield address
    proc.terminate()
    proc.wait(timeout=10)


def _run(bus: str, script: str = SCRIPT) -> str:
    env = {
        **os.environ,
        "DBUS_SESSION_BUS_ADDRESS": bus,
        "XDG_SESSION_TYPE": "wayland",
        "WAYLAND_DISPLAY": "wayland-test",
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": str(REPO),
    }
    r = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_a_desktop_without_portals_is_named(session_bus: str) -> None:
    out = _run(session_bus)
    assert "capture: 3 this Wayland desktop offers no screenshot portal" in out
    assert "shortcut: this Wayland desktop offers no global shortcuts" in out


def test_no_session_bus_at_all() -> None:
    out = _run("unix:path=/nonexistent/bus")
    assert "there is no session D-Bus" in out
    assert out.count("no session D-Bus") == 2


WITH_PORTAL = """
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([])
from desktop.ui.screen_grab import grab_screen, pick_screen
from desktop.ui.hotkeys import GlobalShortcut
image = grab_screen(pick_screen(None))
print("capture:", image.width(), image.height())
shortcut = GlobalShortcut()
print("shortcut:", shortcut.register())
shortcut.activated.connect(lambda: (print("activated"), app.quit()))
QTimer.singleShot(10_000, app.quit)
app.exec()
shortcut.unregister()
"""


def test_the_portals_of_a_desktop_that_has_them(session_bus: str, tmp_path: Path) -> None:
    shot = tmp_path / "desktop.png"
    Image.new("RGB", (320, 200), (10, 20, 30)).save(shot)
    env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": session_bus, "PYTHONPATH": str(REPO)}
    standin = subprocess.Popen(
        [sys.executable, "-m", "tests.portal_standin", str(shot)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert standin.stdout is not None
        assert standin.stdout.readline().strip() == "ready"
        out = _run(session_bus, WITH_PORTAL)
    finally:
        standin.kill()
        standin.wait(timeout=10)
    assert "capture: 320 200" in out
    assert "shortcut: None" in out
    assert "activated" in out
