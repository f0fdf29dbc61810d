"""``describe``/``ask`` with ``--preset detect|point``, ``--objects`` and ``--annotate``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.cli_runner import sightline
from tests.ollama_standin import OllamaStandin, StandinModel


@pytest.fixture
def qwen() -> Iterator[OllamaStandin]:
    standin = OllamaStandin({"qwen2.5vl:7b": StandinModel(vision=True)}).start()
    yield standin
    standin.stop()


@pytest.fixture
def rotated(tmp_path: Path) -> Path:
    """Stored 800 x 400, shown (EXIF 6) as 400 x 800: the model sees it upright."""
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (800, 400), (240, 240, 240)).save(path, exif=exif, quality=95)
    return path


def _env(cli_env: dict[str, str], standin: OllamaStandin) -> dict[str, str]:
    return {**cli_env, "OLLAMA_HOST": standin.url}


def test_detect_boxes_come_back_in_the_original_files_pixels(
    cli_env: dict[str, str], qwen: OllamaStandin, rotated: Path, tmp_path: Path
) -> None:
    # Qwen2.5-VL answers in pixels of the image as sent: upright, fitted to 1344 px
    # here (the default side), so 400 x 800 is sent as is; a box near the top left.
    qwen.answer = ['```json\n[{"bbox_2d": [40, 80, 120, 200], "label": "cat"}]\n```']
    out = tmp_path / "annotated.png"
    r = sightline(
        _env(cli_env, qwen),
        "describe",
        rotated,
        "--preset",
        "detect",
        "--objects",
        "cat, red car",
        "--model",
        "ollama:qwen2.5vl:7b",
        "--annotate",
        out,
        "--json",
    )
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)
    # The prompt sent was Qwen2.5-VL's own.
    chat = [body for path, body in qwen.requests if path == "/api/chat"][-1]
    assert 'categories: "cat, red car"' in chat["messages"][-1]["content"]
    # Upright (u, v) -> stored (v, 400 - u): x from 80..200, y from 400-120..400-40.
    assert row["boxes"] == [{"label": "cat", "x0": 80.0, "y0": 280.0, "x1": 200.0, "y1": 360.0}]
    assert row["points"] == []
    with Image.open(out) as img:
        assert img.size == (800, 400)
        arr = np.asarray(img.convert("RGB")).astype(int)
    assert (arr[320, 80] != 240).any()  # left edge of the box
    assert (arr[320, 140] == 240).all()  # inside stays as it was


def test_points_and_a_downscaled_image(
    cli_env: dict[str, str], qwen: OllamaStandin, tmp_path: Path
) -> None:
    big = tmp_path / "big.png"
    Image.new("RGB", (2688, 1344), (10, 10, 10)).save(big)  # sent at 1344 x 672
    qwen.answer = ['[{"point_2d": [672, 336], "label": "centre"}]']
    r = sightline(
        _env(cli_env, qwen),
        "ask",
        big,
        "--preset",
        "point",
        "--objects",
        "centre",
        "--model",
        "ollama:qwen2.5vl:7b",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)
    assert row["points"] == [{"label": "centre", "x": 1344.0, "y": 672.0}]
    assert row["boxes"] == []


def test_an_answer_without_a_box_says_so(
    cli_env: dict[str, str], vlm_a: Any, tmp_path: Path
) -> None:
    photo = tmp_path / "p.png"
    Image.new("RGB", (64, 64), (1, 2, 3)).save(photo)
    r = sightline(
        cli_env,
        "describe",
        photo,
        "--preset",
        "detect",
        "--objects",
        "cat",
        "--model-path",
        vlm_a.model,
        "--mmproj",
        vlm_a.mmproj,
        "--max-tokens",
        "8",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)
    assert row["boxes"] == []
    assert row["points"] == []
    assert "no usable box" in r.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--preset", "detect"], "--objects"),
        (["--objects", "cat"], "--preset detect"),
    ],
)
def test_bad_grounding_options_are_bad_input(
    cli_env: dict[str, str], tmp_path: Path, extra: list[str], message: str
) -> None:
    photo = tmp_path / "p.png"
    Image.new("RGB", (64, 64)).save(photo)
    r = sightline(cli_env, "describe", photo, *extra, "--model", "ollama:qwen2.5vl:7b")
    assert r.returncode == 2
    assert message in r.stderr


def test_two_images_cannot_share_boxes(cli_env: dict[str, str], tmp_path: Path) -> None:
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    for p in (a, b):
        Image.new("RGB", (8, 8)).save(p)
    r = sightline(cli_env, "ask", a, b, "--preset", "detect", "--objects", "x")
    assert r.returncode == 2
    assert "exactly one image" in r.stderr
