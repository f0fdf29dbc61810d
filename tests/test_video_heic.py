"""Videos reach the model as timestamped frames; HEIC and AVIF photos open like any picture."""

from __future__ import annotations

import json
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from desktop.ingest import ingest_file
from desktop.ingest.video import clock, frame_time, sample_times
from models.errors import InputError
from tests.cli_runner import sightline
from tests.ollama_standin import OllamaStandin, StandinModel

COLOURS = [(220, 30, 30), (30, 220, 30), (30, 30, 220), (230, 230, 30)]


def write_clip(
    path: Path, seconds: int = 4, fps: int = 10, size: tuple[int, int] = (96, 64)
) -> Path:
    """A real H.264 (or MPEG-4) clip made with PyAV: one solid colour per second."""
    with av.open(str(path), "w") as out:
        codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        for i in range(seconds * fps):
            rgb = np.zeros((size[1], size[0], 3), dtype=np.uint8)
            rgb[:, :] = COLOURS[(i // fps) % len(COLOURS)]
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return write_clip(tmp_path / "clip.mp4")


@pytest.fixture
def ollama() -> Iterator[OllamaStandin]:
    standin = OllamaStandin({"llava:7b": StandinModel(vision=True)}).start()
    yield standin
    standin.stop()


def test_frames_are_spread_evenly_and_show_the_right_moment(clip: Path) -> None:
    frames = list(ingest_file(clip, max_side=48, frames=4))
    assert len(frames) == 4
    assert [frame_time(f.label) for f in frames] == ["0:00.5", "0:01.5", "0:02.5", "0:03.5"]
    for frame, colour in zip(frames, COLOURS, strict=True):
        assert max(frame.width, frame.height) == 48
        pixel = Image.frombytes("RGB", (frame.width, frame.height), frame.rgb).getpixel((24, 16))
        assert all(abs(a - b) < 40 for a, b in zip(pixel, colour, strict=True))


def test_every_s_seconds_and_the_frame_cap(clip: Path) -> None:
    assert [frame_time(f.label) for f in ingest_file(clip, max_side=32, every=2)] == [
        "0:00",
        "0:02",
    ]
    with pytest.raises(InputError, match="more than the limit of 3"):
        list(ingest_file(clip, max_side=32, frames=5, max_frames=3))
    assert sample_times(10, None, None) == [0.625 + 1.25 * i for i in range(8)]
    assert clock(72) == "1:12"


def test_a_video_reaches_the_model_as_n_labelled_frames(
    cli_env: dict[str, str], ollama: OllamaStandin, clip: Path
) -> None:
    env = dict(cli_env, OLLAMA_HOST=ollama.url)
    r = sightline(
        env,
        "describe",
        clip,
        "--frames",
        "3",
        "--model",
        "ollama:llava:7b",
        "--json",
        "--prompt",
        "When does the colour change?",
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["images_sent"] == 3
    (chat,) = ollama.chats()
    (message,) = chat["messages"]
    assert len(message["images"]) == 3
    for when in ("0:00.7", "0:02", "0:03.3"):
        assert f"Frame at {when}:" in message["content"]
    assert message["content"].endswith("When does the colour change?")


def test_batch_takes_videos_too(
    cli_env: dict[str, str], ollama: OllamaStandin, clip: Path, tmp_path: Path
) -> None:
    env = dict(cli_env, OLLAMA_HOST=ollama.url)
    r = sightline(env, "batch", tmp_path, "--model", "ollama:llava:7b", "--every", "1", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[0])["images_sent"] == 4
    assert len(ollama.chats()[0]["messages"][0]["images"]) == 4


def test_a_corrupt_video_is_one_line_naming_it(cli_env: dict[str, str], clip: Path) -> None:
    broken = clip.with_name("broken.mp4")
    broken.write_bytes(clip.read_bytes()[:200])
    r = sightline(cli_env, "describe", broken, "--model-path", "unused.gguf")
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1
    assert "broken.mp4" in r.stderr


def test_heic_written_by_pillow_heif_is_read_upright_without_metadata(
    tmp_path: Path, cli_env: dict[str, str], vlm_a: Any
) -> None:
    import pillow_heif  # a dependency: a build without it would fail here, not skip

    pillow_heif.register_heif_opener()
    photo = tmp_path / "IMG_0001.HEIC"
    img = Image.new("RGB", (120, 60), (250, 0, 0))
    img.paste((0, 0, 250), (0, 0, 60, 60))  # blue on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90° clockwise
    exif[0x010F] = "Phone"
    img.save(photo, exif=exif.tobytes())
    (part,) = ingest_file(photo, max_side=200)
    assert (part.width, part.height) == (60, 120)  # upright: taller than wide
    top = Image.frombytes("RGB", (60, 120), part.rgb).getpixel((30, 10))
    assert top[2] > 200  # the left side is now on top
    assert b"Phone" not in part.rgb
    r = sightline(
        cli_env,
        "describe",
        photo,
        "--model-path",
        str(vlm_a.model),
        "--mmproj",
        str(vlm_a.mmproj),
        "--max-tokens",
        "3",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["images_sent"] == 1


def test_avif_opens_like_any_picture(tmp_path: Path) -> None:
    from PIL import features

    assert features.check("avif"), "Pillow 11.3+ wheels carry AVIF (pyproject.toml asks for them)"
    path = tmp_path / "pic.avif"
    Image.new("RGB", (80, 40), (0, 160, 0)).save(path)
    (part,) = ingest_file(path, max_side=40)
    assert (part.width, part.height) == (40, 20)
