"""Untrusted model files are loaded first in a child: a native abort there is one line, exit 3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from models import probe
from models.errors import ModelError
from tests import corpus
from tests.cli_runner import sightline
from tests.conftest import REPO
from tests.test_gguf_hostile import patch_u32


@pytest.fixture
def verdicts(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "verdicts"
    probe.remember_in(folder)
    yield folder
    probe.remember_in(None)


@pytest.mark.parametrize(
    ("key", "assertion"),
    [
        ("clip.vision.attention.head_count", "GGML_ASSERT(ggml_nelements(a) == ne0*ne1*ne2)"),
        ("clip.vision.image_size", "GGML_ASSERT((!is_2D || OH > 0)"),
    ],
)
def test_a_projector_that_aborts_llama_cpp_is_a_model_error(
    vlm_a: Any, tmp_path: Path, verdicts: Path, key: str, assertion: str
) -> None:
    """Past the header checks (called directly), llama.cpp really aborts on these files."""
    bad = patch_u32(Path(vlm_a.mmproj), tmp_path / "mmproj-crash.gguf", key, 0)
    with pytest.raises(ModelError) as caught:
        probe.probe(Path(vlm_a.model), bad)
    message = str(caught.value)
    assert message.startswith(f"{bad}: llama.cpp crashed loading this file (exit -6")
    assert assertion in message
    assert "\n" not in message
    [remembered] = verdicts.glob("*.json")
    remembered.write_text(json.dumps("remembered verdict"))
    code = (
        "import sys; from pathlib import Path; from models import probe\n"
        f"probe.remember_in(Path({str(verdicts)!r}))\n"
        f"try: probe.probe(Path({str(vlm_a.model)!r}), Path({str(bad)!r}))\n"
        "except Exception as exc: print(exc)\n"
    )
    another = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert another.stdout == "remembered verdict\n", "a new process reads the verdict from disk"


def test_a_good_pair_passes_and_a_changed_file_is_probed_again(
    vlm_a: Any, tmp_path: Path, verdicts: Path
) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(Path(vlm_a.model).read_bytes())
    probe.probe(model, Path(vlm_a.mmproj))
    assert len(list(verdicts.glob("*.json"))) == 1
    os.utime(model, ns=(1, 1))
    probe.probe(model, Path(vlm_a.mmproj))
    assert len(list(verdicts.glob("*.json"))) == 2


def test_the_command_line_names_the_projector_and_exits_3(
    cli_env: dict[str, str], vlm_a: Any, tmp_path: Path
) -> None:
    bad = patch_u32(
        Path(vlm_a.mmproj), tmp_path / "mmproj-zero.gguf", "clip.vision.attention.head_count", 0
    )
    picture = corpus.photo(tmp_path / "p.jpg")
    for args in (
        ("describe", picture, "--model-path", vlm_a.model, "--mmproj", bad),
        ("models", "import", vlm_a.model, "--mmproj", bad, "--name", "zero"),
    ):
        run = sightline(cli_env, *args)
        assert run.returncode == 3, run.stderr
        assert run.stderr.startswith(f"sightline: {bad}: ")
        assert run.stderr.count("\n") == 1
