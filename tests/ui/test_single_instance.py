"""Two real processes decide who is first by the lock, however slow the first one is to listen."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from desktop.handover import socket_path
from tests.conftest import REPO

# A first instance that claims the lock, is slow to listen (a busy machine), then records
# every hand-over it receives until told to stop.
_FIRST = """
import json, sys, time
from pathlib import Path
from PySide6.QtCore import QCoreApplication, QTimer
from desktop.ui import single_instance
app = QCoreApplication([])
assert single_instance.forward("open", []) is False, "the first launch is first"
Path(sys.argv[1]).write_text("locked")
time.sleep(float(sys.argv[2]))
got = []
def handle(action, files):
    got.append([action, files])
    Path(sys.argv[3]).write_text(json.dumps(got))
server = single_instance.InstanceServer(handle)
QTimer.singleShot(int(float(sys.argv[4]) * 1000), app.quit)
app.exec()
server.close()
"""

_SECOND = """
import sys
from PySide6.QtCore import QCoreApplication
from desktop.ui import single_instance
app = QCoreApplication([])
print(single_instance.forward("open", sys.argv[1:]))
"""


def _python(code: str, *args: str | Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: Path, first: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_slow_first_instance_still_gets_the_files(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = dict(cli_env, QT_QPA_PLATFORM="offscreen")
    locked, received = tmp_path / "locked", tmp_path / "received.json"
    first = _python(_FIRST, locked, 3.0, received, 8.0, env=env)
    try:
        _wait_for(locked, first)  # it holds the lock and is not listening yet
        second = _python(_SECOND, "/photos/a.jpg", env=env)
        out, err = second.communicate(timeout=60)
        assert second.returncode == 0, err
        assert out.strip() == "True", "handed over, no second window"
        assert json.loads(received.read_text()) == [["open", ["/photos/a.jpg"]]]
        third = _python(_SECOND, "/photos/b.jpg", env=env)
        assert third.communicate(timeout=60)[0].strip() == "True", "the first kept its socket"
    finally:
        first.wait(timeout=60)
    assert first.returncode == 0, first.communicate()


def test_a_dead_first_instance_leaves_nothing_in_the_way(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = dict(cli_env, QT_QPA_PLATFORM="offscreen")
    locked, received = tmp_path / "locked", tmp_path / "received.json"
    crashed = _python(_FIRST, locked, 0.0, received, 60.0, env=env)
    _wait_for(locked, crashed)
    time.sleep(0.5)
    os.kill(crashed.pid, signal.SIGKILL)  # its lock and socket stay behind
    crashed.wait(timeout=30)
    after = _python(_FIRST, tmp_path / "locked-2", 0.0, tmp_path / "got-2.json", 4.0, env=env)
    _wait_for(tmp_path / "locked-2", after)
    time.sleep(0.5)
    second = _python(_SECOND, "/photos/c.jpg", env=env)
    assert second.communicate(timeout=60)[0].strip() == "True"
    after.wait(timeout=60)
    assert json.loads((tmp_path / "got-2.json").read_text()) == [["open", ["/photos/c.jpg"]]]


# The right-click path as a file manager runs it, reporting what it had to load: Qt, the
# command-line parser, the logging set-up, the commands' modules, or a standard module the
# hand-over can do without (dataclasses brings inspect: 7 ms; hashlib loads OpenSSL: 3 ms),
# all time before the popup shows.
_RIGHT_CLICK = """
import sys
before = set(sys.modules)  # what the interpreter (and the test's network guard) loaded
from desktop.cli.main import main
code = main(["describe", "--popup", *sys.argv[1:]])
heavy = ("PySide6", "argparse", "desktop.logs", "desktop.messages", "desktop.cli.cmd_describe",
         "dataclasses", "hashlib")
print(code, *[name for name in heavy if name in set(sys.modules) - before])
"""


def test_the_right_click_hands_its_files_over_loading_nothing_else(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    # TEMP is not where Qt listens (TMPDIR is): the hand-over must not look there either.
    env = dict(cli_env, QT_QPA_PLATFORM="offscreen", TEMP=str(tmp_path))
    locked, received = tmp_path / "locked", tmp_path / "received.json"
    first = _python(_FIRST, locked, 0.0, received, 8.0, env=env)
    try:
        _wait_for(locked, first)
        listening = Path(socket_path())  # QLocalServer's Unix socket
        _wait_for(listening, first)
        photo = tmp_path / "a.jpg"
        photo.write_bytes(b"")
        click = _python(_RIGHT_CLICK, photo, env=env)
        out, err = click.communicate(timeout=60)
        assert click.returncode == 0, err
        assert out.split() == ["0"], "handed over, and nothing but the hand-over was loaded"
        assert json.loads(received.read_text()) == [["popup", [str(photo)]]]
    finally:
        first.wait(timeout=60)


def test_a_failure_before_the_hand_over_is_one_line_with_the_traceback_in_the_log(
    cli_env: dict[str, str], sightline_home: Path, tmp_path: Path
) -> None:
    loop = tmp_path / "loop.jpg"
    loop.symlink_to(loop)  # resolving it fails before anything else is loaded
    env = dict(cli_env, QT_QPA_PLATFORM="offscreen")
    r = subprocess.run(
        [sys.executable, "-m", "desktop.cli", "describe", "--popup", str(loop)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    log = sightline_home / "logs" / "sightline.log"
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        f"sightline: something went wrong inside Sightline (RuntimeError); details are in {log}"
    ]
    assert "Traceback" in log.read_text()
