"""Several right-clicked files: gathered into one request (then one batch view, not N popups)."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from desktop.ui.app import PopupGatherer


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
