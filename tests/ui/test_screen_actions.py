"""The tray's screen requests on a real (tiny) model: read a region's text, take the clipboard."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QThreadPool
from PySide6.QtGui import QColor, QGuiApplication, QImage
from pytestqt.qtbot import QtBot

from desktop.model_choice import ModelChoice
from desktop.model_host import ModelHost
from desktop.settings import load_settings
from desktop.ui.screen_actions import NO_CLIPBOARD_IMAGE, NO_MODEL, ScreenActions
from desktop.ui.tray import TrayController


@pytest.fixture
def host() -> Iterator[ModelHost]:
    h = ModelHost()
    yield h
    h.close()


def _actions(host: ModelHost, choice: ModelChoice | None) -> ScreenActions:
    tray = TrayController(shortcut=None)
    return ScreenActions(tray, host, QThreadPool.globalInstance(), lambda: choice, load_settings())


def _image() -> QImage:
    image = QImage(120, 60, QImage.Format.Format_RGB888)
    image.fill(QColor(255, 255, 255))
    return image


def test_read_text_puts_the_answer_on_the_clipboard(
    qtbot: QtBot, host: ModelHost, vlm_a: Any
) -> None:
    choice = ModelChoice("embedded:tiny", "embedded", vlm_a.model, vlm_a.mmproj)
    actions = _actions(host, choice)
    with qtbot.waitSignal(actions.text_read, timeout=60_000) as got:
        actions.read_image(_image())
    (text,) = got.args
    assert text
    assert QGuiApplication.clipboard().text() == text


def test_without_a_model_it_says_so(qtbot: QtBot, host: ModelHost) -> None:
    actions = _actions(host, None)
    with qtbot.waitSignal(actions.failed) as got:
        actions.read_image(_image())
    assert got.args == [NO_MODEL]


def test_the_clipboard_image_is_handed_to_the_window(qtbot: QtBot, host: ModelHost) -> None:
    actions = _actions(host, None)
    QGuiApplication.clipboard().clear()
    with qtbot.waitSignal(actions.failed) as got:
        actions.tray.describe_clipboard_requested.emit()
    assert got.args == [NO_CLIPBOARD_IMAGE]
    QGuiApplication.clipboard().setImage(_image())
    with qtbot.waitSignal(actions.image_captured) as got:
        actions.tray.actions["describe_clipboard"].trigger()
    png, label = got.args
    assert png.startswith(b"\x89PNG")
    assert label == "clipboard image"
