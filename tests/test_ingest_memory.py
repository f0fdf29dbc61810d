"""Images that cost far more memory than their file size: the peak stays bounded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from PIL import Image

from desktop.ingest import ingest_file
from tests import corpus
from tests.cli_runner import sightline
from tests.conftest import REPO

PEAK_LIMIT = 1024**3

_MEASURE = """
import json, resource, sys
from pathlib import Path
from desktop.ingest import ingest_file
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
[part] = ingest_file(Path(sys.argv[1]), max_side=672)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"size": [part.width, part.height], "peak": peak}))
"""


def test_a_palette_bomb_under_pillows_limit_decodes_in_under_1_gb(tmp_path: Path) -> None:
    bomb = corpus.palette_bomb_png(tmp_path / "bomb.png")
    assert bomb.stat().st_size < 1_000_000
    run = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(bomb)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=True,
    )
    result = json.loads(run.stdout)
    assert result["size"] == [672, 672]
    assert result["peak"] < PEAK_LIMIT, f"peak {result['peak'] >> 20} MB"


def test_a_large_palette_image_keeps_its_colours_and_transparency(tmp_path: Path) -> None:
    img = Image.new("P", (3000, 1000), 0)
    img.putpalette([0, 0, 255, 200, 30, 30] + [0] * 762)
    img.paste(1, (0, 0, 1500, 1000))
    path = tmp_path / "halves.png"
    img.save(path, transparency=0)
    [part] = ingest_file(path, max_side=300)
    assert (part.width, part.height) == (300, 100)
    pixels = Image.frombytes("RGB", (part.width, part.height), part.rgb)
    assert pixels.getpixel((10, 50)) == (200, 30, 30)
    assert pixels.getpixel((290, 50)) == (255, 255, 255), "transparent shows as white"


def test_pillow_warnings_go_to_the_log_not_the_terminal(
    cli_env: dict[str, str], vlm_a: Any, tmp_path: Path, sightline_home: Path
) -> None:
    odd = corpus.odd_exif_jpeg(tmp_path / "odd.jpg")
    run = sightline(
        cli_env,
        "describe",
        odd,
        "--model-path",
        vlm_a.model,
        "--mmproj",
        vlm_a.mmproj,
        "--max-tokens",
        "2",
    )
    assert run.returncode == 0, run.stderr
    assert "Warning" not in run.stderr
    log = (sightline_home / "logs" / "sightline.log").read_text()
    assert "odd.jpg: Tag data larger than file" in log
