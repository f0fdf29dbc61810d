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

import json
import os
import socket
import zlib

from desktop.paths import app_paths

TIMEOUT_S = 1.0


def server_name() -> str:
    """The local socket's name, per data folder (so a test's ``SIGHTLINE_HOME`` gets its own).

    A name, not a secret: a checksum keeps data folders apart as well as a
    cryptographic hash would, without loading OpenSSL (``hashlib``) on every
    right-click.
    """
    data_dir = os.fsencode(app_paths().data_dir)
    return f"sightline-{zlib.crc32(data_dir):08x}"


def socket_path() -> str:
    """Where ``QLocalServer`` puts ``server_name()`` on Linux and macOS: Qt's temporary
    folder, which is ``TMPDIR`` or else /tmp. (``tempfile.gettempdir`` also tries ``TEMP``
    and ``TMP``: with one of those set, it named a socket Qt never listens on.)"""
    return os.path.join(os.path.normpath(os.environ.get("TMPDIR") or "/tmp"), server_name())


def try_handover(action: str, files: list[str]) -> bool:
    """True when a running instance took the request; False means: go the full way."""
    if os.name != "posix":  # QLocalServer is a named pipe on Windows
        return False
    path = socket_path()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(TIMEOUT_S)
            s.connect(path)
            s.sendall((json.dumps({"action": action, "files": files}) + "\n").encode())
            return s.recv(16).startswith(b"ok")
    except OSError:
        return False
