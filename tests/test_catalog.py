"""The shipped catalog is complete; a user's own catalog adds to it, or is named when broken."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.catalog import load_catalog
from models.errors import InputError

MINE = (
    '[models.mine]\nram_gb = 1\nlicense = "mit"\n'
    '[models.mine.text]\nurl = "https://example.org/a.gguf"\nsize = 10\n'
    '[models.mine.mmproj]\nurl = "https://example.org/b.gguf"\n'
)


def test_every_shipped_model_has_what_a_download_needs() -> None:
    catalog = load_catalog()
    assert {
        "llava-1.5-7b",
        "llava-1.6-mistral-7b",
        "moondream2",
        "qwen2.5-vl-3b",
        "qwen2.5-vl-7b",
        "gemma-3-4b",
        "smolvlm2-2.2b",
        "smolvlm2-500m",
        "smolvlm2-256m",
        "minicpm-v-2.6",
    } <= set(catalog)
    for entry in catalog.values():
        for item in (entry.text, entry.mmproj):
            assert item.url.startswith(f"https://huggingface.co/{entry.repo}/resolve/main/")
            assert item.filename.endswith(".gguf")
        assert entry.text.filename != entry.mmproj.filename
        assert entry.license not in ("", "unknown")
        assert entry.ram_gb > 0
        assert entry.context_length > 0
        assert entry.quantization
        assert entry.source == "built-in catalog"


def test_pre_verified_hashes_are_well_formed_and_distinct() -> None:
    hashes = [
        item.sha256
        for entry in load_catalog().values()
        for item in (entry.text, entry.mmproj)
        if item.sha256
    ]
    assert len(hashes) >= 4
    assert len(set(hashes)) == len(hashes)
    assert all(len(h) == 64 and h == h.lower() for h in hashes)


def test_a_user_catalog_adds_a_model_and_can_override_one(tmp_path: Path) -> None:
    (tmp_path / "catalog.toml").write_text(
        MINE
        + "[models.moondream2]\nram_gb = 3\n"
        + '[models.moondream2.text]\nurl = "https://mirror.example/t.gguf"\n'
        + '[models.moondream2.mmproj]\nurl = "https://mirror.example/m.gguf"\n'
    )
    catalog = load_catalog(tmp_path)
    assert catalog["mine"].size_bytes is None, "a size is only known when both files have one"
    assert catalog["mine"].source == str(tmp_path / "catalog.toml")
    assert catalog["moondream2"].text.url == "https://mirror.example/t.gguf"
    assert "qwen2.5-vl-3b" in catalog


def test_no_user_catalog_is_fine(tmp_path: Path) -> None:
    assert load_catalog(tmp_path).keys() == load_catalog().keys()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[models.bad\n", r"catalog\.toml: not valid TOML"),
        ("models = 3\n", r"catalog\.toml: `models` must be a table"),
        ("[models]\nbad = 3\n", r"catalog\.toml: models\.bad: must be a table"),
        (
            "[models.bad]\nram_gb = 1\n[models.bad.text]\nsize = 3\n",
            r"catalog\.toml: models\.bad\.text: needs a table with a `url`",
        ),
        (
            MINE.replace("https://example.org/a.gguf", "file:///etc/passwd"),
            r"models\.mine\.text\.url: must be an http\(s\) address of a \.gguf file",
        ),
        (
            MINE.replace("size = 10", "size = -1"),
            r"models\.mine\.text\.size: must be a whole number of bytes",
        ),
        (
            MINE.replace("size = 10", 'sha256 = "' + "z" * 64 + '"'),
            r"models\.mine\.text\.sha256: must be 64 hex digits",
        ),
        (
            MINE.replace("ram_gb = 1\n", ""),
            r"models\.mine: missing or invalid field \('ram_gb'\)",
        ),
    ],
)
def test_a_broken_user_catalog_names_the_file_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "catalog.toml").write_text(text)
    with pytest.raises(InputError, match=message) as caught:
        load_catalog(tmp_path)
    assert str(tmp_path / "catalog.toml") in str(caught.value)
    assert "\n" not in str(caught.value)
