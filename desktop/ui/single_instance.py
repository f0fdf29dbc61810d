"""One Sightline per user: a second launch hands its files to the first and exits at once.

Who is first is decided by a lock file (``QLockFile``), not by whether a
socket answers: a first instance on a busy machine may take seconds before
it listens, and a second launch that took silence for absence used to open
a second window and delete the first one's socket. The lock holder listens
on a local socket named after the user's data folder (so a test's
``SIGHTLINE_HOME`` gets its own); everyone else retries the hand-over for a
few seconds. A socket file is removed only by the lock holder, i.e. when the
instance that made it is gone (QLockFile sees a dead owner's lock as stale).
A message is one JSON line: ``{"action": "open" | "popup", "files": [...]}``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QLockFile, QObject
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from desktop.handover import server_name
from desktop.paths import app_paths
from models.errors import SightlineError

HANDOVER_S = 10.0
"""How long a second launch keeps trying to reach a first instance that holds the lock."""
_ATTEMPT_MS = 1000
_log = logging.getLogger(__name__)
_held: list[QLockFile] = []
"""The lock, while this process is the first instance (kept alive here, released in close)."""


class InstanceBusy(SightlineError):
    """Another Sightline holds the lock but did not take the hand-over in time."""

    exit_code = 3


def _claim() -> bool:
    """Take the instance lock if nobody alive holds it; True when this process is first."""
    if _held:
        return True
    paths = app_paths()
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    lock = QLockFile(str(paths.instance_lock))
    lock.setStaleLockTime(0)  # never stale by age: only when its owner process is gone
    if lock.tryLock(0):
        _held.append(lock)
        return True
    return False


def send(action: str, files: list[str]) -> bool:
    """One attempt at the hand-over, without the lock: True when a listening instance took it."""
    socket = QLocalSocket()
    socket.connectToServer(server_name())
    if not socket.waitForConnected(_ATTEMPT_MS):
        return False
    socket.write((json.dumps({"action": action, "files": files}) + "\n").encode())
    socket.flush()
    acknowledged = socket.waitForReadyRead(_ATTEMPT_MS * 2)  # the first instance answers "ok"
    socket.disconnectFromServer()
    return bool(acknowledged)


def forward(action: str, files: list[str]) -> bool:
    """Hand the request to the running instance: False when this process is the first.

    Raises ``InstanceBusy`` when another instance is alive but does not take
    the request within ``HANDOVER_S``, rather than opening a second window.
    """
    deadline = time.monotonic() + HANDOVER_S
    while True:
        if _claim():
            return False
        if send(action, files):
            return True
        if time.monotonic() >= deadline:
            raise InstanceBusy(
                "Sightline is already running but did not answer — try again in a moment"
            )
        time.sleep(0.2)


class InstanceServer(QObject):
    def __init__(self, handler: Callable[[str, list[str]], None]) -> None:
        super().__init__()
        self._handler = handler
        self._server = QLocalServer(self)
        if _claim():
            # Holding the lock means whoever made a leftover socket is gone.
            QLocalServer.removeServer(server_name())
            if not self._server.listen(server_name()):
                _log.warning("cannot listen for other launches: %s", self._server.errorString())
        else:
            _log.warning("another instance holds the lock; not listening for launches")
        self._server.newConnection.connect(self._accept)

    def _accept(self) -> None:
        while self._server.hasPendingConnections():
            socket = self._server.nextPendingConnection()
            socket.readyRead.connect(lambda s=socket: self._read(s))

    def _read(self, socket: QLocalSocket) -> None:
        if not socket.canReadLine():
            return
        try:
            message: dict[str, Any] = json.loads(bytes(socket.readLine().data()).decode())
            files = [str(f) for f in message.get("files", [])]
            action = str(message.get("action", "open"))
        except (ValueError, UnicodeDecodeError):
            socket.disconnectFromServer()
            return
        socket.write(b"ok\n")
        socket.flush()
        _log.info("another launch handed over %s with %d file(s)", action, len(files))
        self._handler(action, files)

    def close(self) -> None:
        self._server.close()
        while _held:
            _held.pop().unlock()
