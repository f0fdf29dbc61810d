"""One Sightline per user: a second launch hands its files to the first and exits at once.

The first instance listens on a local socket named after the user's data
folder (so a test's ``SIGHTLINE_HOME`` gets its own). A message is one JSON
line: ``{"action": "open" | "popup", "files": [...]}``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from desktop.paths import app_paths

_TIMEOUT_MS = 1000
_log = logging.getLogger(__name__)


def server_name() -> str:
    digest = hashlib.sha256(str(app_paths().data_dir).encode()).hexdigest()[:16]
    return f"sightline-{digest}"


def forward(action: str, files: list[str]) -> bool:
    """Hand the request to a running instance; False when none is listening."""
    socket = QLocalSocket()
    socket.connectToServer(server_name())
    if not socket.waitForConnected(_TIMEOUT_MS):
        return False
    socket.write((json.dumps({"action": action, "files": files}) + "\n").encode())
    socket.flush()
    acknowledged = socket.waitForReadyRead(_TIMEOUT_MS)  # the first instance answers "ok"
    socket.disconnectFromServer()
    return bool(acknowledged)


class InstanceServer(QObject):
    def __init__(self, handler: Callable[[str, list[str]], None]) -> None:
        super().__init__()
        self._handler = handler
        self._server = QLocalServer(self)
        QLocalServer.removeServer(server_name())  # a stale socket from a crashed instance
        self._server.listen(server_name())
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
