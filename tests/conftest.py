"""Every test runs with its own SIGHTLINE_HOME and with the network guarded."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from tests import socket_guard
from tests.tiny_families import FAMILIES, FamilySpec, family_of, write_spec
from tests.tinyvlm import SPEC_A, SPEC_B, SPEC_BENCH, SPEC_EMPTY, SPEC_TEXT_ONLY, VlmSpec, write_vlm

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
socket_guard.install()
# keyring picks the highest-priority backend class it knows, and the suite's own stand-ins
# (tests.keychain_standin) are such classes once imported: without this, whichever test
# first asks would get a stand-in nobody set up. Tests that want a keychain say so.
keyring.set_keyring(fail.Keyring())

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
    spec: VlmSpec | FamilySpec
    model: Path
    mmproj: Path | None
    family: str = "llava-1.5"


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


def _family(factory: pytest.TempPathFactory, name: str) -> Vlm:
    spec = FAMILIES[name]
    model, mmproj = write_spec(spec, factory.mktemp(spec.name))
    return Vlm(spec, model, mmproj, family_of(spec))


@pytest.fixture(scope="session")
def vlm_llava16(tmp_path_factory: pytest.TempPathFactory) -> Vlm:
    """LLaVA 1.6 (Mistral template): grid pinpoints, an overview plus slices per image."""
    return _family(tmp_path_factory, "llava-1.6")


@pytest.fixture(scope="session")
def vlm_qwen25vl(tmp_path_factory: pytest.TempPathFactory) -> Vlm:
    """Qwen2.5-VL: M-RoPE text model, window-attention merger, dynamic image size."""
    return _family(tmp_path_factory, "qwen2.5-vl")


@pytest.fixture(scope="session")
def vlm_gemma3(tmp_path_factory: pytest.TempPathFactory) -> Vlm:
    """Gemma 3: sliding-window text model, images decoded with non-causal attention."""
    return _family(tmp_path_factory, "gemma3")


@pytest.fixture(scope="session")
def vlm_smolvlm2(tmp_path_factory: pytest.TempPathFactory) -> Vlm:
    """SmolVLM2: typed-part template, no BOS added, tiles with row/column text between."""
    return _family(tmp_path_factory, "smolvlm2")


@pytest.fixture(scope="session")
def vlm_minicpmv(tmp_path_factory: pytest.TempPathFactory) -> Vlm:
    """MiniCPM-V 2.6: qwen2 text model, resampler projector, overview plus slices."""
    return _family(tmp_path_factory, "minicpm-v-2.6")


@pytest.fixture(scope="session")
def vlm_moondream2(tmp_path_factory: pytest.TempPathFactory) -> Vlm:
    """Moondream2: phi2 text model, GPT-2 vocabulary, SigLIP + MLP projector, no chat template."""
    return _family(tmp_path_factory, "moondream2")


FAMILY_FIXTURES = {
    "llava-1.5": "vlm_a",
    "llava-1.6": "vlm_llava16",
    "qwen2.5-vl": "vlm_qwen25vl",
    "gemma3": "vlm_gemma3",
    "smolvlm2": "vlm_smolvlm2",
    "minicpm-v-2.6": "vlm_minicpmv",
    "moondream2": "vlm_moondream2",
}


@pytest.fixture(scope="session", params=list(FAMILY_FIXTURES))
def family_vlm(request: pytest.FixtureRequest) -> Vlm:
    """Every model family the catalog offers, one at a time."""
    vlm: Vlm = request.getfixturevalue(FAMILY_FIXTURES[request.param])
    return vlm
