"""Every test runs with its own SIGHTLINE_HOME and with the network guarded."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import socket_guard

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
socket_guard.install()

GUARD_DIR = Path(__file__).resolve().parent / "guard"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def sightline_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("SIGHTLINE_HOME", str(home))
    for var in ("OLLAMA_HOST", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    yield home


@pytest.fixture
def cli_env(sightline_home: Path) -> dict[str, str]:
    """Environment for running ``python -m desktop.cli`` as a user would, guarded."""
    env = dict(os.environ)
    env["SIGHTLINE_HOME"] = str(sightline_home)
    env["PYTHONPATH"] = os.pathsep.join([str(GUARD_DIR), str(REPO)])
    env["PYTHONUNBUFFERED"] = "1"
    return env
