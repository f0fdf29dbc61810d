"""Settings on disk: saved read-modify-write, range-checked on load."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from desktop.settings import load_settings, save_settings
from models.errors import InputError
from tests.cli_runner import sightline


def _config(home: Path) -> Path:
    return home / "config" / "config.toml"


def test_saving_keeps_keys_another_process_set_since_loading(sightline_home: Path) -> None:
    window = load_settings()  # the window starts with an empty config
    _config(sightline_home).parent.mkdir(parents=True, exist_ok=True)
    _config(sightline_home).write_text('default_model = "embedded:tiny"\nfuture_key = 3\n')
    save_settings(replace(window, theme="dark"))  # the dialog changed only the theme
    saved = load_settings()
    assert saved.theme == "dark"
    assert saved.default_model == "embedded:tiny", "the CLI's default survived"
    assert "future_key = 3" in _config(sightline_home).read_text()


def test_a_key_this_process_changed_wins_over_the_disk(sightline_home: Path) -> None:
    settings = load_settings()
    _config(sightline_home).parent.mkdir(parents=True, exist_ok=True)
    _config(sightline_home).write_text("n_ctx = 2048\n")
    settings.n_ctx = 8192
    save_settings(settings)
    assert load_settings().n_ctx == 8192
    assert not list(_config(sightline_home).parent.glob("*.tmp")), "no temporary file is left"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("n_threads = 10000", "setting 'n_threads' must be between 1 and 256, not 10000"),
        ("n_ctx = 10", "setting 'n_ctx' must be between 512 and 131072, not 10"),
        ("max_image_side = 0", "setting 'max_image_side' must be between 224 and 4096, not 0"),
        ("pdf_page_budget_s = -1", "setting 'pdf_page_budget_s' must be between 0.1 and 600"),
        ('theme = "neon"', "setting 'theme' must be one of system, light, dark, not 'neon'"),
    ],
)
def test_out_of_range_settings_are_refused_naming_the_key(
    sightline_home: Path, line: str, message: str
) -> None:
    _config(sightline_home).parent.mkdir(parents=True, exist_ok=True)
    _config(sightline_home).write_text(line + "\n")
    with pytest.raises(InputError, match=message):
        load_settings()


def test_the_cli_refuses_an_absurd_thread_count_with_exit_2(
    sightline_home: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    _config(sightline_home).parent.mkdir(parents=True, exist_ok=True)
    _config(sightline_home).write_text("n_threads = 10000\n")
    r = sightline(cli_env, "describe", str(tmp_path / "any.png"))
    assert r.returncode == 2
    assert "config.toml: setting 'n_threads' must be between 1 and 256, not 10000" in r.stderr


def test_the_pdf_budget_is_a_setting_with_a_default_of_20_s(sightline_home: Path) -> None:
    assert load_settings().pdf_page_budget_s == 20.0
    _config(sightline_home).parent.mkdir(parents=True, exist_ok=True)
    _config(sightline_home).write_text("pdf_page_budget_s = 5\n")
    assert load_settings().pdf_page_budget_s == 5.0
