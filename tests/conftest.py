"""Every test runs with its own SIGHTLINE_HOME and with the network guarded."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import socket_guard
from tests.tinyvlm import SPEC_A, SPEC_B, SPEC_BENCH, SPEC_EMPTY, SPEC_TEXT_ONLY, VlmSpec, write_vlm

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
socket_guard.install()

pytest_plugins = ["tests.fixtures_cloud"]

GUARD_DIR = Path(__file__).resolve().parent / "guard"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def sightline_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("SIGHTLINE_HOME", str(home))
    for var in (
        "OLLAMA_HOST",
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "GEMINI_API_KEY",
        "OPENAI_BASE_URL",
        "ANTHROPIC_BASE_URL",
        "GEMINI_BASE_URL",
        "PYTHON_KEYRING_BACKEND",
        "SIGHTLINE_OPENAI_COMPAT_URL",
    ):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def cli_env(sightline_home: Path) -> dict[str, str]:
    """Environment for running ``python -m desktop.cli`` as a user would, guarded."""
    env = dict(os.environ)
    env["SIGHTLINE_HOME"] = str(sightline_home)
    env["PYTHONPATH"] = os.pathsep.join([str(GUARD_DIR), str(REPO)])
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass(frozen=True)
class Vlm:
    spec: VlmSpec
    model: Path
    mmproj: Path | None


def _vlm(factory: pytest.TempPathFactory, spec: VlmSpec) -> Vlm:
    model, mmproj = write_vlm(spec, factory.mktemp(spec.name))
    return Vlm(spec, model, mmproj)


@pytest.fixture(scope="session")
def vlm_a(tmp_path_factory: pytest.TempPathFactory) -> Vlm:
    """SentencePiece vocabulary, LLaVA-1.5 template, 56 px images (16 tokens)."""
    return _vlm(tmp_path_factory, SPEC_A)


@pytest.fixture(scope="session")
def vlm_b(tmp_path_factory: pytest.TempPathFactory) -> Vlm:
    """Byte-level BPE vocabulary, ChatML template, GQA, 84 px images (36 tokens)."""
    return _vlm(tmp_path_factory, SPEC_B)


@pytest.fixture(scope="session")
def vlm_empty(tmp_path_factory: pytest.TempPathFactory) -> Vlm:
    return _vlm(tmp_path_factory, SPEC_EMPTY)


@pytest.fixture(scope="session")
def vlm_text_only(tmp_path_factory: pytest.TempPathFactory) -> Vlm:
    return _vlm(tmp_path_factory, SPEC_TEXT_ONLY)


@pytest.fixture(scope="session")
def vlm_slow(tmp_path_factory: pytest.TempPathFactory) -> Vlm:
    """Big enough (576 image tokens, ~300 tokens/s here) to interrupt mid-answer."""
    return _vlm(tmp_path_factory, SPEC_BENCH)
