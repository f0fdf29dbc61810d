"""DiskWatcher: changes another process makes on disk become one debounced signal each."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop.history.store import HistoryStore
from desktop.paths import app_paths
from desktop.settings import load_settings, save_settings
from desktop.ui.disk_watch import DiskWatcher

REPO = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def watcher(qtbot: QtBot, sightline_home: Path) -> Iterator[DiskWatcher]:
    app_paths().ensure()
    HistoryStore.open().close()
    w = DiskWatcher(debounce_ms=100)
    yield w
    w.deleteLater()


def _in_another_process(code: str, home: Path) -> None:
    env_code = f"import os; os.environ['SIGHTLINE_HOME'] = {str(home)!r}\n" + code
    subprocess.run([sys.executable, "-c", env_code], cwd=REPO, check=True, timeout=60)


def test_the_cli_setting_a_default_model_is_a_settings_change(
    qtbot: QtBot, watcher: DiskWatcher, sightline_home: Path
) -> None:
    with qtbot.waitSignal(watcher.settings_changed, timeout=5000):
        _in_another_process(
            "from desktop.settings import load_settings, save_settings\n"
            "s = load_settings(); s.default_model = 'embedded:tiny'; save_settings(s)\n",
            sightline_home,
        )
    assert load_settings().default_model == "embedded:tiny"
    with qtbot.waitSignal(watcher.settings_changed, timeout=5000):  # still watched after a rename
        s = load_settings()
        s.theme = "dark"
        save_settings(s)


def test_a_new_model_folder_is_a_models_change(
    qtbot: QtBot, watcher: DiskWatcher, sightline_home: Path
) -> None:
    with qtbot.waitSignal(watcher.models_changed, timeout=5000):
        (sightline_home / "models" / "tiny").mkdir()


def test_a_conversation_written_elsewhere_is_one_history_change(
    qtbot: QtBot, watcher: DiskWatcher, sightline_home: Path
) -> None:
    seen: list[str] = []
    watcher.history_changed.connect(lambda: seen.append("history"))
    watcher.settings_changed.connect(lambda: seen.append("settings"))
    _in_another_process(
        "from desktop.history.store import HistoryStore\n"
        "s = HistoryStore.open()\n"
        "for n in range(20):\n"
        "    cid = s.create_conversation(f'chat {n}')\n"
        "    s.add_user_message(cid, 'hello', [])\n"
        "s.close()\n",
        sightline_home,
    )
    qtbot.waitUntil(lambda: "history" in seen, timeout=5000)
    qtbot.wait(400)  # longer than the debounce: a second signal would have arrived
    assert seen == ["history"], "a burst of writes is one refresh, and only of the history"
