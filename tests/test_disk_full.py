"""A full disk, for real: SIGHTLINE_HOME on a small tmpfs filled to the last byte.

Needs root to mount (the CI and development containers run as root); skipped
elsewhere.
"""

from __future__ import annotations

import errno
import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop.disk_full import DiskFullError
from desktop.history.store import HistoryStore
from desktop.logs import QuietFileHandler
from desktop.response_cache import ResponseCache
from models.backend import Usage
from tests import corpus
from tests.cli_runner import sightline


def _write_until_full(path: Path) -> int | None:
    block = b"\0" * 65536
    with path.open("wb") as f:
        try:
            while True:
                f.write(block)
                f.flush()
        except OSError as exc:
            return exc.errno
    return None


def _fill(folder: Path) -> None:
    """Write until the file system says no more."""
    assert _write_until_full(folder / "filler") == errno.ENOSPC
    small = 0
    while True:  # the last few bytes too
        try:
            (folder / f"crumb{small}").write_bytes(b"\0" * 512)
            small += 1
        except OSError:
            break


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.decode().strip()})")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def full_home(small_disk: Path, cli_env: dict[str, str]) -> dict[str, str]:
    """A CLI environment whose SIGHTLINE_HOME lives on a disk with no room left."""
    env = dict(cli_env)
    env["SIGHTLINE_HOME"] = str(small_disk / "home")
    return env


def _models(vlm: Any) -> list[str]:
    return ["--model-path", str(vlm.model), "--mmproj", str(vlm.mmproj)]


def _clean(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert "Logging error" not in stderr


def test_nothing_to_save_answers_without_logging_errors(
    full_home: dict[str, str], small_disk: Path, vlm_a: Any, tmp_path: Path
) -> None:
    _fill(small_disk)
    photo = corpus.photo(tmp_path / "photo.jpg")
    r = sightline(full_home, "describe", photo, "--no-history", "--no-cache", *_models(vlm_a))
    _clean(r.stderr)
    assert r.returncode == 0, r.stderr


def test_a_fresh_home_on_a_full_disk_says_so_with_exit_2(
    full_home: dict[str, str], small_disk: Path, vlm_a: Any, tmp_path: Path
) -> None:
    _fill(small_disk)
    photo = corpus.photo(tmp_path / "photo.jpg")
    r = sightline(full_home, "describe", photo, *_models(vlm_a))
    _clean(r.stderr)
    assert r.returncode == 2, r.stderr
    assert f"the disk holding {small_disk / 'home'}" in r.stderr
    assert "is full" in r.stderr


def test_an_existing_home_says_disk_full_not_io_error(
    full_home: dict[str, str], small_disk: Path, vlm_a: Any, tmp_path: Path
) -> None:
    photo = corpus.photo(tmp_path / "photo.jpg")
    first = sightline(full_home, "describe", photo, "--no-cache", *_models(vlm_a))
    assert first.returncode == 0, first.stderr
    _fill(small_disk)
    r = sightline(full_home, "describe", photo, "--no-cache", *_models(vlm_a))
    _clean(r.stderr)
    assert "disk I/O error" not in r.stderr
    assert "is full" in r.stderr
    assert r.returncode == 2, r.stderr


def test_a_chat_whose_turns_could_not_be_saved_does_not_exit_0(
    full_home: dict[str, str], small_disk: Path, vlm_a: Any, tmp_path: Path
) -> None:
    photo = corpus.photo(tmp_path / "photo.jpg")
    first = sightline(full_home, "history", "list")
    assert first.returncode == 0, first.stderr
    _fill(small_disk)
    r = sightline(full_home, "chat", photo, "--no-cache", *_models(vlm_a), stdin="hi\nagain\n")
    _clean(r.stderr)
    assert "is full" in r.stderr
    assert r.returncode == 2, r.stderr


def test_the_cache_and_the_history_name_the_full_disk(small_disk: Path) -> None:
    store = HistoryStore.open(small_disk / "h.sqlite3")
    cache = ResponseCache(small_disk / "c.sqlite3")
    cid = store.create_conversation()
    _fill(small_disk)
    with pytest.raises(DiskFullError, match=r"the disk holding .*h\.sqlite3 is full"):
        store.add_user_message(cid, "x" * 2_000_000, [])
    with pytest.raises(DiskFullError, match=r"the disk holding .*c\.sqlite3 is full"):
        cache.put("k", "y" * 2_000_000, Usage(finish_reason="stop"))
    store.close()
    cache.close()


def test_the_log_handler_keeps_what_it_cannot_write_in_memory(
    small_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = QuietFileHandler(str(small_disk / "app.log"))
    _fill(small_disk)
    logger = logging.getLogger("disk-full-test")
    logger.addHandler(handler)
    try:
        for n in range(50):
            logger.error("record %d %s", n, "z" * 4000)
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert len(handler.unwritten) > 0
    assert "Logging error" not in capsys.readouterr().err


def test_the_window_shows_a_full_disk_in_its_banner(
    qtbot: Any, small_disk: Path, vlm_a: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from desktop.ui.main_window import MainWindow

    home = small_disk / "home"
    monkeypatch.setenv("SIGHTLINE_HOME", str(home))
    models = home / "models" / "tiny"
    models.mkdir(parents=True)
    for file in (vlm_a.model, vlm_a.mmproj):
        (models / file.name).symlink_to(file)  # the model itself lives on another disk
    HistoryStore.open().close()
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.current_entry() is not None, timeout=20000)
    _fill(small_disk)
    w.send("Hello")
    qtbot.waitUntil(lambda: not w.turns.answering, timeout=60000)
    assert "the disk holding" in w.banner.label.text()
    assert "is full" in w.banner.label.text()
    w.close()
