"""``sightline describe`` over the whole bad-input corpus: one line naming the file, exit 2 or 3."""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

from tests import corpus
from tests.cli_runner import sightline
from tests.test_gguf_hostile import BAD_ALIGNMENTS, build_gguf, patch_u32


def clean(run: Any, code: int, name: str) -> str | None:
    """Why a run is not a clean refusal, or None."""
    lines = run.stderr.splitlines()
    if run.returncode != code:
        return f"exit {run.returncode}"
    if len(lines) != 1 or not lines[0].startswith("sightline: "):
        return f"stderr is not one line: {run.stderr!r}"
    if os.fsencode(name).decode("utf-8", "replace") not in lines[0].replace("?", "\ufffd"):
        return f"the file is not named: {lines[0]!r}"
    return None


def test_every_bad_input_is_one_line_and_exit_2(
    cli_env: dict[str, str], vlm_a: Any, tmp_path: Path
) -> None:
    model = ["--model-path", str(vlm_a.model), "--mmproj", str(vlm_a.mmproj)]
    problems = {}
    for path in corpus.bad_inputs(tmp_path / "inputs"):
        run = sightline(cli_env, "describe", path, *model, timeout=60)
        problem = clean(run, 2, path.name)
        if problem:
            problems[path.name] = problem
    assert problems == {}


def test_every_bad_model_file_is_one_line_and_exit_3(
    cli_env: dict[str, str], vlm_a: Any, tmp_path: Path
) -> None:
    picture = corpus.photo(tmp_path / "p.jpg")
    mmproj = Path(vlm_a.mmproj)
    fifo = tmp_path / "fifo.gguf"
    os.mkfifo(fifo)
    aligned: list[Path] = []
    for case, value in BAD_ALIGNMENTS.items():
        path = tmp_path / f"align-{case.replace(' ', '-')}.gguf"
        kvs = [
            ("general.architecture", 8, struct.pack("<Q", 5) + b"llama"),
            ("llama.embedding_length", 4, struct.pack("<I", 64)),
            ("general.alignment", *value),
        ]
        path.write_bytes(build_gguf(kvs))
        aligned.append(path)
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(Path(vlm_a.model).read_bytes()[:5000])
    pairs: list[tuple[Path, Path | None, Path]] = [
        (p, None, p) for p in (*aligned, fifo, cut, tmp_path / "missing.gguf")
    ]
    for key in ("attention.head_count", "image_size", "patch_size"):
        bad = patch_u32(mmproj, tmp_path / f"mmproj-{key}.gguf", f"clip.vision.{key}", 0)
        pairs.append((Path(vlm_a.model), bad, bad))
    pairs.append((Path(vlm_a.model), fifo, fifo))
    problems = {}
    for text, projector, culprit in pairs:
        args = ["--model-path", str(text)] + (["--mmproj", str(projector)] if projector else [])
        run = sightline(cli_env, "describe", picture, *args, "--max-tokens", "2", timeout=60)
        problem = clean(run, 3, culprit.name)
        if problem:
            problems[culprit.name] = problem
    assert problems == {}
