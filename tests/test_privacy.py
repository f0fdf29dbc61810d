"""With default settings nothing leaves the machine — and the tests would notice if it did."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.socket_guard import NetworkBlocked


def test_the_guard_blocks_any_connection_off_this_machine() -> None:
    with socket.socket() as s, pytest.raises(NetworkBlocked):
        s.connect(("10.1.2.3", 443))


def test_the_guard_allows_loopback() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=5):
            pass


def test_cli_processes_are_guarded_too(cli_env: dict[str, str]) -> None:
    code = "import socket; socket.create_connection(('192.0.2.1', 80), timeout=1)"
    r = subprocess.run(
        [sys.executable, "-c", code], env=cli_env, capture_output=True, text=True, check=False
    )
    assert r.returncode != 0
    assert "NetworkBlocked" in r.stderr
