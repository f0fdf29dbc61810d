"""File ▸ Describe each: every picture gets its own answer in the batch view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image
from pytestqt.qtbot import QtBot

from desktop.ui.describe_each import describe_each
from desktop.ui.main_window import MainWindow
from tests.ui.test_window import install


def test_each_picture_is_answered_on_the_windows_model(
    qtbot: QtBot, sightline_home: Path, vlm_a: Any, tmp_path: Path
) -> None:
    install(sightline_home, "tiny", vlm_a)
    for i, colour in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200)]):
        Image.new("RGB", (80, 60), colour).save(tmp_path / f"p{i}.png")
    w = MainWindow()
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.current_entry() is not None, timeout=20000)
    view = describe_each(w, [str(tmp_path)])
    assert view is not None
    qtbot.addWidget(view)
    assert len(view.items) == 3
    qtbot.waitUntil(lambda: not view.running, timeout=60000)
    answers = view.answers()
    assert len(answers) == 3
    assert all(text.strip() for _item, text in answers)
    assert w.host.label == "embedded:tiny", "the window's loaded model answered"
    view.close()
    w.close()


def test_nothing_to_describe_says_why(qtbot: QtBot, sightline_home: Path, vlm_a: Any) -> None:
    install(sightline_home, "tiny", vlm_a)
    w = MainWindow()
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.current_entry() is not None, timeout=20000)
    assert describe_each(w, [str(sightline_home / "missing")]) is None
    assert "missing" in w.banner.label.text()
    w.close()
