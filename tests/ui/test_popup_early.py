"""A right-click with nothing running: the answer starts before the window, the popup relays it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from desktop.model_host import ModelHost
from desktop.popup_answer import start_early
from desktop.settings import load_settings
from desktop.ui.main_window import MainWindow
from desktop.ui.popup import PopupWindow
from tests import corpus
from tests.ui.test_window import install


def test_the_early_answer_reaches_the_popup_and_leaves_the_model_warm(
    qtbot: QtBot, sightline_home: Path, vlm_a: Any, tmp_path: Path
) -> None:
    install(sightline_home, "tiny", vlm_a)
    settings, host = load_settings(), ModelHost()
    photo = corpus.photo(tmp_path / "shot.jpg")
    early = start_early(photo, settings, host)
    assert early is not None, "a model is installed: the answer starts before any window"
    assert early.request.label == "embedded:tiny"
    w = MainWindow(settings, host)
    qtbot.addWidget(w)
    popup = PopupWindow(w, photo, early)
    qtbot.addWidget(popup)
    qtbot.waitUntil(lambda: "tokens/s" in popup.status.text(), timeout=60000)
    assert popup.answer.strip()
    assert popup.images, "the image it read arrived too (thumbnail, open in chat)"
    assert w.host.label == "embedded:tiny", "the window's host kept the loaded model"
    popup.close()
    w.close()


def test_without_a_model_nothing_starts_early(sightline_home: Path, tmp_path: Path) -> None:
    photo = corpus.photo(tmp_path / "shot.jpg")
    assert start_early(photo, load_settings(), ModelHost()) is None
