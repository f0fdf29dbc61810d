"""Which models are installed, and whether each can see — from the files, never from names."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from desktop.model_choice import resolve_model
from desktop.settings import Settings
from models.catalog import CatalogEntry, CatalogFile
from models.errors import ModelError
from models.gguf_info import read_header
from models.library import pull, remove, scan
from tests.file_server import FileServer
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


def test_the_quantization_table_matches_the_gguf_package() -> None:
    import gguf

    from models.gguf_info import QUANT_SIZES

    for ggml_type, sizes in QUANT_SIZES.items():
        assert gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType(ggml_type)] == sizes


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


def test_a_loose_pair_with_any_mmproj_name_is_found_and_removed_together(
    sightline_home: Path, vlm_a: Any, vlm_b: Any
) -> None:
    models = sightline_home / "models"
    models.mkdir(parents=True)
    shutil.copy(vlm_a.model, models / "llava.gguf")
    shutil.copy(vlm_a.mmproj, models / "mmproj-model-f16.gguf")
    shutil.copy(vlm_b.model, models / "other.gguf")
    entries = {e.name: e for e in scan(models)}
    assert entries["llava"].vision
    assert entries["llava"].mmproj == str(models / "mmproj-model-f16.gguf")
    assert not entries["other"].vision, "a projector that does not fit is not paired"
    remove("llava", models)
    assert sorted(p.name for p in models.iterdir()) == ["other.gguf"]


def test_a_pull_resumed_after_the_text_model_keeps_both_hashes(
    sightline_home: Path, vlm_a: Any
) -> None:
    text, mmproj = vlm_a.model.read_bytes(), vlm_a.mmproj.read_bytes()
    host = FileServer({"t.gguf": text}).start()
    try:
        f = CatalogFile(host.url("t.gguf"), len(text), hashlib.sha256(text).hexdigest())
        p = CatalogFile(host.url("mmproj-t.gguf"), len(mmproj))
        entry = CatalogEntry("tiny", "Tiny", "r", "mit", 4096, 0.1, "F32", f, p)
        models = sightline_home / "models"
        with pytest.raises(ModelError, match="404"):
            pull(entry, models)
        host.files["mmproj-t.gguf"] = mmproj
        installed = pull(entry, models)
    finally:
        host.stop()
    assert installed.vision
    manifest = tomllib.loads((models / "tiny" / "model.toml").read_text())
    assert manifest["text_sha256"] == f.sha256
    assert manifest["text_pre_verified"] is True
    assert manifest["mmproj_sha256"] == hashlib.sha256(mmproj).hexdigest()
    assert manifest["mmproj_pre_verified"] is False
    assert manifest["license"] == "mit"


def test_a_pull_that_cannot_fit_is_refused_with_numbers(sightline_home: Path) -> None:
    f = CatalogFile("http://127.0.0.1:9/t.gguf", 3 * 10**9)
    entry = CatalogEntry("big", "Big Model", "r", "mit", 4096, 8, "Q4", f, f)
    with pytest.raises(ModelError, match=r"Big Model: it needs 6\.0 GB and 1\.0 GB is free"):
        pull(entry, sightline_home / "models", free_space=lambda _p: 10**9)
