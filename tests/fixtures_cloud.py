"""Fixtures for cloud tests: provider stand-ins, quick retries, keychains, a connection log."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import keyring
import pytest
from keyring.backends import fail

from desktop import keys
from models.cloud.retry import RetryPolicy
from tests.cloud_standins import STANDINS, Standin
from tests.keychain_standin import MemoryKeychain


class RecordedSleeps(list[float]):
    def __call__(self, seconds: float, cancel: threading.Event | None) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> RecordedSleeps:
    return RecordedSleeps()


@pytest.fixture
def quick_retries(sleeps: RecordedSleeps) -> RetryPolicy:
    """The real policy, with waits recorded instead of slept and jitter pinned."""
    return RetryPolicy(sleep=sleeps, random=lambda: 0.5)


@pytest.fixture
def start_standin() -> Iterator[Callable[..., Standin]]:
    started: list[Standin] = []

    def start(provider: str, **options: Any) -> Standin:
        standin = STANDINS[provider](**options).start()
        started.append(standin)
        return standin

    yield start
    for s in started:
        s.stop()


@pytest.fixture
def keychain() -> Iterator[MemoryKeychain]:
    """An OS keychain for this test (the machine running tests has none)."""
    previous = keyring.get_keyring()
    chain = MemoryKeychain()
    keyring.set_keyring(chain)
    keys._session.clear()
    yield chain
    keyring.set_keyring(previous)
    keys._session.clear()


@pytest.fixture
def no_keychain() -> Iterator[None]:
    """A headless machine: keyring finds no usable backend."""
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    keys._session.clear()
    yield
    keyring.set_keyring(previous)
    keys._session.clear()


@pytest.fixture
def keychain_env(
    cli_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """CLI environment whose keyring is a file-backed OS keychain outside SIGHTLINE_HOME."""
    env = dict(cli_env)
    env["PYTHON_KEYRING_BACKEND"] = "tests.keychain_standin.FileKeychain"
    env["SIGHTLINE_TEST_KEYCHAIN"] = str(tmp_path_factory.mktemp("keychain") / "items.json")
    return env


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every address this process tries to connect to (on top of the socket guard)."""
    seen: list[Any] = []
    guarded = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        seen.append(address)
        guarded(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen
