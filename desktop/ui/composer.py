"""Where the next message is written: Enter or Ctrl+Enter sends, Shift+Enter breaks the line.

Tab moves focus like in any other field (a chat box has no use for tab
characters); pasted images and files become attachments.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QPlainTextEdit

from desktop.ui.attachments import Attachments


class Composer(QPlainTextEdit):
    send_requested = Signal()

    def __init__(self, attachments: Attachments) -> None:
        super().__init__()
        self.attachments = attachments
        self.setObjectName("composer")
        self.setAccessibleName("Message")
        self.setTabChangesFocus(True)
        self.setPlaceholderText("Ask about your images…  (Enter sends, Shift+Enter: new line)")
        self.setFixedHeight(72)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
            event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        ):
            self.send_requested.emit()
            return
        super().keyPressEvent(event)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return source.hasImage() or source.hasUrls() or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        if self.attachments.take_mime(source):
            return
        super().insertFromMimeData(source)
