"""Cloud models from the command line: opt-in, cost in --json, and the answer cache."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.cli_runner import sightline
from tests.cloud_standins import Standin


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    Image.new("RGB", (64, 48), (10, 200, 30)).save(path)
    return path


@pytest.fixture
def openai_env(
    cli_env: dict[str, str], start_standin: Callable[..., Standin]
) -> tuple[dict[str, str], Standin]:
    standin = start_standin("openai")
    env = dict(cli_env, OPENAI_BASE_URL=standin.url, OPENAI_API_KEY=standin.key)
    return env, standin


def test_without_opt_in_a_cloud_model_sends_nothing(
    openai_env: tuple[dict[str, str], Standin], photo: Path
) -> None:
    env, standin = openai_env
    r = sightline(env, "describe", photo, "--model", "openai:gpt-4.1-mini")
    assert r.returncode == 3
    assert "cloud use is off, so nothing was sent" in r.stderr
    assert "--allow-cloud" in r.stderr
    assert standin.received == []


def test_with_allow_cloud_the_answer_reports_its_cost(
    openai_env: tuple[dict[str, str], Standin], photo: Path
) -> None:
    env, standin = openai_env
    r = sightline(
        env,
        "describe",
        photo,
        "--model",
        "openai:gpt-4.1-mini",
        "--allow-cloud",
        "--json",
        "--no-history",
    )
    assert r.returncode == 0, r.stderr
    data: dict[str, Any] = json.loads(r.stdout)
    assert data["text"]
    assert data["cost_usd"] > 0
    assert data["cached"] is False
    assert len(standin.received) == 1


def test_local_answers_cost_nothing(cli_env: dict[str, str], vlm_a: Any, photo: Path) -> None:
    r = sightline(
        cli_env,
        "ask",
        photo,
        "What?",
        "--model-path",
        vlm_a.model,
        "--mmproj",
        vlm_a.mmproj,
        "--json",
        "--max-tokens",
        "3",
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["cost_usd"] == 0


def test_a_repeated_preset_is_answered_from_the_cache_until_cleared(
    cli_env: dict[str, str], vlm_a: Any, photo: Path
) -> None:
    args = [
        "describe",
        photo,
        "--preset",
        "caption",
        "--model-path",
        vlm_a.model,
        "--mmproj",
        vlm_a.mmproj,
        "--json",
        "--max-tokens",
        "6",
    ]
    first = sightline(cli_env, *args)
    second = sightline(cli_env, *args)
    assert json.loads(first.stdout)["cached"] is False
    again = json.loads(second.stdout)
    assert again["cached"] is True
    assert again["text"] == json.loads(first.stdout)["text"]
    assert "answered from the cache" in second.stderr
    bypass = sightline(cli_env, *args, "--no-cache")
    assert json.loads(bypass.stdout)["cached"] is False
    cleared = sightline(cli_env, "cache", "clear")
    assert cleared.returncode == 0
    assert json.loads(sightline(cli_env, *args).stdout)["cached"] is False


def test_a_free_question_is_not_cached_by_default(
    cli_env: dict[str, str], vlm_a: Any, photo: Path
) -> None:
    args = [
        "ask",
        photo,
        "Why?",
        "--model-path",
        vlm_a.model,
        "--mmproj",
        vlm_a.mmproj,
        "--json",
        "--max-tokens",
        "4",
    ]
    sightline(cli_env, *args)
    assert json.loads(sightline(cli_env, *args).stdout)["cached"] is False
