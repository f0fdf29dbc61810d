"""Getting a model in one step, and managing the library, as a user does from a terminal."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from models.catalog import CatalogEntry, CatalogFile
from models.library import recommend
from tests.cli_runner import sightline
from tests.file_server import FileServer
from tests.ollama_standin import OllamaStandin, StandinModel
from tests.tinyvlm import SPEC_A, write_mismatched_mmproj, write_not_gguf, write_truncated_copy


def listed(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    r = sightline(env, "models", "list", "--json")
    assert r.returncode == 0, r.stderr
    return {m["name"]: m for m in json.loads(r.stdout)}


def test_recommend_picks_the_best_that_fits() -> None:
    def entry(name: str, rank: int, ram: float, size: int) -> CatalogEntry:
        f = CatalogFile("http://x/" + name, size // 2)
        return CatalogEntry(name, name, "r", "mit", 4096, ram, "Q4", f, f, rank=rank)

    catalog = {e.name: e for e in (entry("small", 1, 1, 10**9), entry("big", 9, 12, 8 * 10**9))}
    assert recommend(catalog, 32 * 10**9, 100 * 10**9).name == "big"  # type: ignore[union-attr]
    assert recommend(catalog, 8 * 10**9, 100 * 10**9).name == "small"  # type: ignore[union-attr]
    assert recommend(catalog, 32 * 10**9, 5 * 10**9).name == "small"  # type: ignore[union-attr]
    assert recommend(catalog, 10**9, 10**9) is None


def test_import_validates_the_pair_then_lists_it(
    cli_env: dict[str, str], vlm_a: Any, vlm_b: Any, tmp_path: Path
) -> None:
    r = sightline(
        cli_env, "models", "import", vlm_a.model, "--mmproj", vlm_a.mmproj, "--name", "mine"
    )
    assert r.returncode == 0, r.stderr
    assert "can see images" in r.stdout
    entry = listed(cli_env)["mine"]
    assert (entry["backend"], entry["vision"], entry["installed"]) == ("embedded", True, True)

    bad = sightline(cli_env, "models", "import", vlm_a.model, "--mmproj", vlm_b.mmproj)
    assert bad.returncode == 3
    assert "does not match the text model's embedding size" in bad.stderr

    fake = write_not_gguf(tmp_path / "model.gguf")
    r = sightline(cli_env, "models", "import", fake, "--mmproj", vlm_a.mmproj)
    assert (r.returncode, "model.gguf: not a GGUF" in r.stderr) == (3, True)

    cut = write_truncated_copy(vlm_a.model, tmp_path / "cut.gguf")
    r = sightline(cli_env, "models", "import", cut, "--mmproj", vlm_a.mmproj)
    assert (r.returncode, "cut.gguf: the GGUF file is truncated" in r.stderr) == (3, True)
    assert set(listed(cli_env)) == {"mine"}, "nothing half-imported"


def test_default_and_remove(cli_env: dict[str, str], vlm_a: Any, sightline_home: Path) -> None:
    sightline(cli_env, "models", "import", vlm_a.model, "--mmproj", vlm_a.mmproj, "--name", "one")
    sightline(
        cli_env,
        "models",
        "import",
        vlm_a.model,
        "--mmproj",
        vlm_a.mmproj,
        "--name",
        "two",
        "--link",
    )
    assert sightline(cli_env, "models", "default", "two").returncode == 0
    assert listed(cli_env)["two"]["default"]
    r = sightline(cli_env, "models", "remove", "embedded:two")
    assert r.returncode == 0, r.stderr
    assert set(listed(cli_env)) == {"one"}
    assert vlm_a.model.exists(), "removing a linked model keeps the original"
    assert sightline(cli_env, "models", "remove", "nope").returncode == 3


@pytest.fixture
def catalog_host(
    sightline_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FileServer]:
    """The tiny model served over HTTP, with a user catalog entry pointing at it."""
    folder = tmp_path_factory.mktemp("served")
    from tests.tinyvlm import write_vlm

    model, mmproj = write_vlm(SPEC_A, folder)
    assert mmproj is not None
    mismatched = write_mismatched_mmproj(SPEC_A, folder)
    host = FileServer(
        {
            "tiny.gguf": model.read_bytes(),
            "mmproj-tiny.gguf": mmproj.read_bytes(),
            "mmproj-wrong.gguf": mismatched.read_bytes(),
        }
    ).start()
    (sightline_home / "config").mkdir(parents=True, exist_ok=True)
    (sightline_home / "config" / "catalog.toml").write_text(
        f'[models.tiny]\nram_gb = 0.1\nlicense = "mit"\n'
        f'[models.tiny.text]\nurl = "{host.url("tiny.gguf")}"\n'
        f'[models.tiny.mmproj]\nurl = "{host.url("mmproj-tiny.gguf")}"\n'
        f"[models.broken]\nram_gb = 0.1\n"
        f'[models.broken.text]\nurl = "{host.url("tiny.gguf")}"\n'
        f'[models.broken.mmproj]\nurl = "{host.url("mmproj-wrong.gguf")}"\n'
        f"[models.gone]\nram_gb = 0.1\n"
        f'[models.gone.text]\nurl = "{host.url("missing.gguf")}"\n'
        f'[models.gone.mmproj]\nurl = "{host.url("mmproj-tiny.gguf")}"\n'
    )
    yield host
    host.stop()


def test_pull_gets_text_model_and_mmproj_together(
    cli_env: dict[str, str], catalog_host: FileServer, sightline_home: Path
) -> None:
    r = sightline(cli_env, "models", "pull", "tiny")
    assert r.returncode == 0, r.stderr
    entry = listed(cli_env)["tiny"]
    assert entry["vision"]
    manifest = (sightline_home / "models" / "tiny" / "model.toml").read_text()
    assert "text_sha256" in manifest
    assert "text_pre_verified = false" in manifest


def test_pull_errors_are_clear(cli_env: dict[str, str], catalog_host: FileServer) -> None:
    r = sightline(cli_env, "models", "pull", "gone")
    assert r.returncode == 3
    assert "not found on the server (404)" in r.stderr
    r = sightline(cli_env, "models", "pull", "broken")
    assert r.returncode == 3
    assert "does not match" in r.stderr
    r = sightline(cli_env, "models", "pull", "no-such-model")
    assert r.returncode == 2


def test_ctrl_c_keeps_the_partial_and_a_rerun_resumes(
    cli_env: dict[str, str], catalog_host: FileServer, sightline_home: Path
) -> None:
    catalog_host.delay_per_chunk = 0.3
    proc = subprocess.Popen(
        [sys.executable, "-m", "desktop.cli", "models", "pull", "tiny"],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    part = sightline_home / "models" / "tiny" / "tiny.gguf.part"
    deadline = time.monotonic() + 30
    while not (part.exists() and part.stat().st_size > 0):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "resume" in err
    assert part.exists()
    catalog_host.delay_per_chunk = 0
    r = sightline(cli_env, "models", "pull", "tiny")
    assert r.returncode == 0, r.stderr
    assert any(rng and rng != "bytes=0-" for rng in catalog_host.ranges)


def test_ollama_models_are_listed_and_named_across_backends(
    cli_env: dict[str, str], vlm_a: Any
) -> None:
    standin = OllamaStandin(
        {"llava:7b": StandinModel(vision=True), "qwen3:4b": StandinModel(vision=False)}
    ).start()
    try:
        env = dict(cli_env, OLLAMA_HOST=standin.url)
        sightline(
            env, "models", "import", vlm_a.model, "--mmproj", vlm_a.mmproj, "--name", "llava:7b"
        )
        r = sightline(env, "models", "list", "--json")
        rows = json.loads(r.stdout)
        by_backend = {(m["backend"], m["name"]): m for m in rows}
        assert by_backend[("ollama", "llava:7b")]["vision"]
        assert not by_backend[("ollama", "qwen3:4b")]["vision"]
        photo = Path(cli_env["SIGHTLINE_HOME"]) / "p.png"
        from PIL import Image

        Image.new("RGB", (30, 30), "red").save(photo)
        r = sightline(env, "describe", photo, "--model", "ollama:qwen3:4b", "--max-tokens", "5")
        assert r.returncode == 3
        assert "cannot see images" in r.stderr
        assert standin.chats() == [], "a text-only model is never sent the image"
        r = sightline(env, "describe", photo, "--model", "ollama:llava:7b", "--json")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["text"] == "A red square on white."
    finally:
        standin.stop()
