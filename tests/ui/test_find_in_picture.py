"""Find in picture: the model is asked in its family's form and its boxes are drawn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtWidgets import QInputDialog
from pytestqt.qtbot import QtBot

from desktop.settings import Settings
from desktop.ui.main_window import MainWindow
from tests.ollama_standin import OllamaStandin, StandinModel
from tests.ui.test_window import drop_files, wait_chips


@pytest.fixture
def qwen() -> Iterator[OllamaStandin]:
    standin = OllamaStandin({"qwen2.5vl:7b": StandinModel(vision=True)}).start()
    yield standin
    standin.stop()


@pytest.fixture
def window(qtbot: QtBot, qwen: OllamaStandin, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("cat, red car", True))
    w = MainWindow(Settings(ollama_host=qwen.url, default_model="ollama:qwen2.5vl:7b"))
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.current_entry() is not None, timeout=20000)
    return w


def test_boxes_the_model_names_are_drawn_over_the_picture(
    qtbot: QtBot, window: MainWindow, qwen: OllamaStandin, tmp_path: Path
) -> None:
    photo = tmp_path / "cat.png"
    Image.new("RGB", (400, 300), (200, 120, 40)).save(photo)
    drop_files(window, photo)
    wait_chips(qtbot, window, 1)
    qwen.answer = ['[{"bbox_2d": [40, 30, 200, 150], "label": "cat"}]']
    window.actions_["find_in_picture"].trigger()
    qtbot.waitUntil(lambda: window.finder.view is not None, timeout=30000)
    sent = qwen.chats()[-1]["messages"][-1]["content"]
    assert "cat, red car" in sent
    assert "bbox coordinates in JSON" in sent, "asked in Qwen's own form"
    overlay = window.finder.view.overlay
    assert overlay.list.count() == 1
    assert overlay.list.item(0).text().startswith("cat")
    in_thread = window.finder.in_thread
    assert in_thread is not None
    assert in_thread.list.count() == 1, "drawn in the thread as well"
    in_thread.list.setCurrentRow(0)
    assert in_thread.view.current == 0, "clicking a row highlights its box"
    rect = overlay.view.mark_rect(0)
    assert rect.width() > 0
    assert rect.height() > 0
    window.close()


def test_an_answer_without_boxes_says_so(
    qtbot: QtBot, window: MainWindow, qwen: OllamaStandin, tmp_path: Path
) -> None:
    photo = tmp_path / "empty.png"
    Image.new("RGB", (200, 200), (10, 10, 10)).save(photo)
    drop_files(window, photo)
    wait_chips(qtbot, window, 1)
    qwen.answer = ["I see no cat here."]
    window.actions_["find_in_picture"].trigger()
    qtbot.waitUntil(lambda: "no usable box" in window.banner.label.text(), timeout=30000)
    assert window.finder.view is None
    window.close()


def test_find_needs_one_attached_picture(qtbot: QtBot, window: MainWindow) -> None:
    window.actions_["find_in_picture"].trigger()
    assert "Attach one picture" in window.banner.label.text()
    window.close()
