"""The window stays current with what other processes write, and Settings has its extra sections."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from desktop.paths import app_paths
from desktop.ui.companions import SavedStatesPanel
from desktop.ui.main_window import MainWindow
from tests.ui.test_window import install

REPO = Path(__file__).resolve().parent.parent.parent


def in_another_process(home: Path, code: str) -> None:
    prologue = f"import os; os.environ['SIGHTLINE_HOME'] = {str(home)!r}\n"
    subprocess.run([sys.executable, "-c", prologue + code], cwd=REPO, check=True, timeout=60)


def test_the_window_picks_up_what_the_cli_changed_without_a_restart(
    qtbot: QtBot, sightline_home: Path, vlm_a: Any
) -> None:
    install(sightline_home, "first", vlm_a)
    w = MainWindow()
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: "embedded:first" in {m.qualified_name for m in w.models}, timeout=20000)
    install(sightline_home, "second", vlm_a)
    qtbot.waitUntil(
        lambda: "embedded:second" in {m.qualified_name for m in w.models}, timeout=20000
    )
    in_another_process(
        sightline_home,
        "from desktop.settings import load_settings, save_settings\n"
        "s = load_settings(); s.default_model = 'embedded:second'; save_settings(s)\n",
    )
    qtbot.waitUntil(lambda: w.settings.default_model == "embedded:second", timeout=20000)
    in_another_process(
        sightline_home,
        "from desktop.history.store import HistoryStore\n"
        "s = HistoryStore.open(); s.create_conversation('Made by the command line'); s.close()\n",
    )
    qtbot.waitUntil(lambda: "Made by the command line" in titles(w), timeout=20000)
    w.close()


def test_saved_conversation_states_show_their_size_and_clear(
    qtbot: QtBot, sightline_home: Path
) -> None:
    folder = app_paths().states_dir / "model"
    folder.mkdir(parents=True)
    (folder / "a.kvstate").write_bytes(b"x" * 2_500_000)
    w = MainWindow()
    qtbot.addWidget(w)
    sections = dict(make() for make in w.settings_panels)
    assert {"File manager", "Saved conversations"} <= set(sections)
    panel = sections["Saved conversations"]
    assert isinstance(panel, SavedStatesPanel)
    qtbot.waitUntil(lambda: panel.size_label.text() == "2.5 MB on disk", timeout=10000)
    panel.clear_button.click()
    qtbot.waitUntil(lambda: panel.size_label.text() == "None saved", timeout=10000)
    assert not (folder / "a.kvstate").exists()
    assert not panel.clear_button.isEnabled()
    w.close()


def titles(w: MainWindow) -> str:
    items = w.sidebar.items
    return " ".join(items.item(i).toolTip() + items.item(i).text() for i in range(items.count()))


def names(w: MainWindow) -> set[str]:
    return {m.qualified_name for m in w.models}
