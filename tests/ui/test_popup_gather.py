"""Several right-clicked files: gathered into one popup with a list (offscreen Qt, tiny model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image
from pytestqt.qtbot import QtBot

from desktop.ui.app import PopupGatherer
from desktop.ui.main_window import MainWindow
from desktop.ui.popup_batch import PopupBatch
from tests.ui.test_window import install


def test_requests_within_the_window_become_one_batch(qtbot: QtBot) -> None:
    batches: list[list[str]] = []
    gatherer = PopupGatherer(batches.append, window_ms=200)
    for name in ("a.png", "b.png", "c.png", "a.png"):
        gatherer.add([name])
    assert batches == []
    qtbot.waitUntil(lambda: bool(batches), timeout=5000)
    assert batches == [["a.png", "b.png", "c.png"]]


def test_without_a_window_a_request_is_shown_at_once() -> None:
    batches: list[list[str]] = []
    PopupGatherer(batches.append, window_ms=0).add(["a.png", "b.png"])
    assert batches == [["a.png", "b.png"]]


def test_the_batch_lists_every_file_and_describes_the_picked_one(
    qtbot: QtBot, sightline_home: Path, vlm_a: Any, tmp_path: Path
) -> None:
    install(sightline_home, "tiny", vlm_a)
    paths = []
    for i, color in enumerate([(200, 40, 40), (40, 200, 40)]):
        paths.append(tmp_path / f"shot-{i}.png")
        Image.new("RGB", (64, 48), color).save(paths[-1])
    window = MainWindow()
    qtbot.addWidget(window)
    batch = PopupBatch(window, paths)
    qtbot.addWidget(batch)
    batch.show()
    assert batch.files.count() == 2
    assert batch.current is not None
    assert batch.current.path == paths[0]
    first = batch.current
    qtbot.waitUntil(lambda: first.job is not None and not first.job.running, timeout=60000)
    assert first.answer
    batch.files.setCurrentRow(1)
    second = batch.current
    assert second is not first
    assert second.path == paths[1]
    qtbot.waitUntil(lambda: second.job is not None and not second.job.running, timeout=60000)
    batch.close()
    window.close()
