"""Which models are installed, and whether each can see — from the files, never from names."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from desktop.model_choice import resolve_model
from desktop.settings import Settings
from models.gguf_info import read_header
from models.library import scan
from tests.tinyvlm import SPEC_A, SPEC_B, write_mismatched_mmproj, write_truncated_copy


def install(models_dir: Path, name: str, vlm: Any) -> Path:
    folder = models_dir / name
    folder.mkdir(parents=True)
    shutil.copy(vlm.model, folder)
    if vlm.mmproj:
        shutil.copy(vlm.mmproj, folder)
    return folder


def test_headers_tell_shape_and_projection(vlm_a: Any, vlm_b: Any) -> None:
    a, b = read_header(vlm_a.model), read_header(vlm_b.mmproj)
    assert (a.arch, a.embedding_length, a.context_length) == ("llama", SPEC_A.n_embd, 4096)
    assert b.is_projector
    assert b.projection_dim == SPEC_B.n_embd
    assert b.max_image_side == SPEC_B.image_size
    assert a.metadata["tokenizer.ggml.tokens"].length > 256, "the vocabulary is skipped, not read"


def test_scan_finds_folders_and_loose_pairs(
    sightline_home: Path, vlm_a: Any, vlm_b: Any, vlm_text_only: Any, tmp_path: Path
) -> None:
    models = sightline_home / "models"
    install(models, "llava-like", vlm_a)
    install(models, "words", vlm_text_only)
    shutil.copy(vlm_b.model, models / "loose.gguf")
    shutil.copy(vlm_b.mmproj, models / "mmproj-loose.gguf")
    mismatched = install(models, "mismatched", vlm_a)
    (mismatched / vlm_a.mmproj.name).unlink()
    write_mismatched_mmproj(SPEC_A, mismatched)
    write_truncated_copy(vlm_a.model, models / "broken.gguf")
    problems: list[str] = []
    entries = {e.name: e for e in scan(models, default="words", on_problem=problems.append)}
    assert set(entries) == {"llava-like", "words", "loose", "mismatched"}
    assert entries["llava-like"].vision
    assert entries["loose"].vision
    assert not entries["words"].vision
    assert not entries["mismatched"].vision, "a projector that doesn't fit gives no vision"
    assert entries["words"].default
    assert any("broken.gguf" in p and "truncated" in p for p in problems)


def test_models_list_json_contract(
    cli_env: dict[str, str], sightline_home: Path, vlm_a: Any
) -> None:
    install(sightline_home / "models", "tiny", vlm_a)
    r = subprocess.run(
        [sys.executable, "-m", "desktop.cli", "models", "list", "--json"],
        env=cli_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    [entry] = json.loads(r.stdout)
    assert set(entry) >= {
        "name",
        "backend",
        "vision",
        "size_bytes",
        "path",
        "mmproj",
        "context_length",
        "installed",
        "default",
    }
    assert (entry["name"], entry["backend"], entry["vision"]) == ("tiny", "embedded", True)


def test_a_single_installed_model_is_used_without_naming_it(
    sightline_home: Path, vlm_a: Any, vlm_b: Any
) -> None:
    install(sightline_home / "models", "only", vlm_a)
    assert resolve_model(Settings()).label == "embedded:only"
    install(sightline_home / "models", "second", vlm_b)
    assert resolve_model(Settings(), "second").label == "embedded:second"
    assert resolve_model(Settings(default_model="embedded:only")).label == "embedded:only"
