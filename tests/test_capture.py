"""``sightline capture`` on a real X server: full screen, a region, high-DPI, the overlay."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from desktop.history.store import HistoryStore
from tests.cli_runner import sightline
from tests.ollama_standin import OllamaStandin, StandinModel
from tests.xvfb import wait_for_window, xdotool, xvfb


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    with xvfb(800, 600) as name:
        yield name


@pytest.fixture
def x_env(cli_env: dict[str, str], display: str) -> dict[str, str]:
    return {**cli_env, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}


@pytest.fixture
def llava() -> Iterator[OllamaStandin]:
    standin = OllamaStandin({"llava:7b": StandinModel(vision=True)}).start()
    yield standin
    standin.stop()


def _sent_size(conversation_id: int) -> tuple[int, int]:
    """The size of the picture kept in history (what the model was sent)."""
    store = HistoryStore.open()
    try:
        (image,) = store.load_for_model(conversation_id)[0].images
        return image.width, image.height
    finally:
        store.close()


def test_full_screen_reaches_the_model(x_env: dict[str, str], vlm_a: Any) -> None:
    r = sightline(
        x_env,
        "capture",
        "--full",
        "--model-path",
        vlm_a.model,
        "--mmproj",
        vlm_a.mmproj,
        "--max-tokens",
        "5",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)
    assert row["files"] == ["screen"]
    assert row["completion_tokens"] > 0
    assert row["prompt_tokens"] > 16  # the image's tokens went in
    width, height = _sent_size(row["conversation_id"])
    assert width / height == pytest.approx(800 / 600, rel=0.05)


def test_a_region_is_captured_at_its_size(x_env: dict[str, str], llava: OllamaStandin) -> None:
    env = {**x_env, "OLLAMA_HOST": llava.url}
    r = sightline(
        env, "capture", "--region", "10,20,120,60", "--model", "ollama:llava:7b", "--json"
    )
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)
    assert row["files"] == ["screen region 10,20,120,60"]
    assert _sent_size(row["conversation_id"]) == (120, 60)


def test_high_dpi_captures_physical_pixels(x_env: dict[str, str], llava: OllamaStandin) -> None:
    env = {**x_env, "OLLAMA_HOST": llava.url, "QT_SCALE_FACTOR": "2"}
    r = sightline(
        env, "capture", "--region", "10,20,120,60", "--model", "ollama:llava:7b", "--json"
    )
    assert r.returncode == 0, r.stderr
    assert _sent_size(json.loads(r.stdout)["conversation_id"]) == (240, 120)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--region", "700,500,200,200"], "not inside the screen"),
        (["--region", "1,2,3"], "expected X,Y,W,H"),
        (["--screen", "3", "--full"], "no such screen"),
    ],
)
def test_bad_regions_are_bad_input(
    x_env: dict[str, str], llava: OllamaStandin, args: list[str], message: str
) -> None:
    env = {**x_env, "OLLAMA_HOST": llava.url}
    r = sightline(env, "capture", *args, "--model", "ollama:llava:7b")
    assert r.returncode == 2
    assert message in r.stderr


def test_without_a_display_one_line_and_exit_3(cli_env: dict[str, str]) -> None:
    env = {k: v for k, v in cli_env.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    r = sightline(env, "capture", "--full")
    assert r.returncode == 3
    assert r.stderr.count("\n") == 1
    assert "no display" in r.stderr


def _capture_in_background(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "desktop.cli", "capture", "--model", "ollama:llava:7b", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_overlay_is_dragged_with_xdotool(
    x_env: dict[str, str], llava: OllamaStandin, display: str
) -> None:
    proc = _capture_in_background({**x_env, "OLLAMA_HOST": llava.url})
    try:
        wait_for_window(display, "Sightline capture")
        xdotool(display, "mousemove", "100", "100", "mousedown", "1")
        xdotool(display, "mousemove", "200", "150", "mousemove", "300", "180", "mouseup", "1")
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    row = json.loads(out)
    assert row["files"] == ["screen selection"]
    assert _sent_size(row["conversation_id"]) == (200, 80)


def test_escape_cancels_the_overlay_with_130(
    x_env: dict[str, str], llava: OllamaStandin, display: str
) -> None:
    proc = _capture_in_background({**x_env, "OLLAMA_HOST": llava.url})
    try:
        wait_for_window(display, "Sightline capture")
        xdotool(display, "mousemove", "50", "50", "key", "Escape")
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "cancelled" in err
    assert out == ""
    assert not [p for p, _ in llava.requests if p == "/api/chat"]
