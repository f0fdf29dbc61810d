"""macOS delivers Finder's files as QFileOpenEvents; the app turns them into "open" requests."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.ui.app import FileOpenFilter


def test_a_file_open_event_opens_the_file(qtbot: QtBot) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    seen: list[tuple[str, list[str]]] = []
    file_open = FileOpenFilter(lambda action, files: seen.append((action, files)))
    app.installEventFilter(file_open)
    try:
        QApplication.sendEvent(app, QFileOpenEvent("/photos/cat.png"))
        other = QObject()
        QApplication.sendEvent(other, QEvent(QEvent.Type.User))  # other events pass through
    finally:
        app.removeEventFilter(file_open)
    assert seen == [("open", ["/photos/cat.png"])]
