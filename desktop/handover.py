"""Handing files to a running Sightline without loading Qt: the right-click's fast path.

The first instance listens with Qt's ``QLocalServer``, which on Linux and
macOS is a Unix socket in the temporary folder. A second launch that only
passes files on (``describe --popup FILE``, what a file manager runs) can
speak to it with a plain socket and exit, sparing itself the import of Qt —
most of the time between the click and the popup. When nobody answers that
way, the caller goes the full way (``desktop.ui.single_instance``: the lock,
retries, becoming the first instance).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import tempfile

from desktop.paths import app_paths

TIMEOUT_S = 1.0


def server_name() -> str:
    """The local socket's name, per data folder (so a test's ``SIGHTLINE_HOME`` gets its own)."""
    digest = hashlib.sha256(str(app_paths().data_dir).encode()).hexdigest()[:16]
    return f"sightline-{digest}"


def try_handover(action: str, files: list[str]) -> bool:
    """True when a running instance took the request; False means: go the full way."""
    if os.name != "posix":  # QLocalServer is a named pipe on Windows
        return False
    path = os.path.join(tempfile.gettempdir(), server_name())
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(TIMEOUT_S)
            s.connect(path)
            s.sendall((json.dumps({"action": action, "files": files}) + "\n").encode())
            return s.recv(16).startswith(b"ok")
    except OSError:
        return False
