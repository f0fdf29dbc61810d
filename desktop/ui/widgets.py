"""Small widgets the window is built from: a message, an attachment chip, a banner."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from models.conversation import ImagePart

THUMB = 96


def pixmap_from_part(part: ImagePart) -> QPixmap:
    image = QImage(part.rgb, part.width, part.height, part.width * 3, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())


def pixmap_from_png(data: bytes) -> QPixmap:
    pixmap = QPixmap()
    pixmap.loadFromData(data, "PNG")
    return pixmap


class ImageViewer(QDialog):
    """Full view of an image, scrollable when bigger than the screen."""

    def __init__(self, pixmap: QPixmap, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        label = QLabel()
        label.setPixmap(pixmap)
        area = QScrollArea()
        area.setWidget(label)
        layout = QVBoxLayout(self)
        layout.addWidget(area)
        self.resize(min(pixmap.width() + 40, 1200), min(pixmap.height() + 40, 900))


class Thumbnail(QLabel):
    clicked = Signal()

    def __init__(self, pixmap: QPixmap, tooltip: str) -> None:
        super().__init__()
        self.full = pixmap
        self.setPixmap(
            pixmap.scaled(
                THUMB,
                THUMB,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )
        self.setToolTip(tooltip)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def mousePressEvent(self, event: object) -> None:
        self.clicked.emit()


class MarkdownView(QTextBrowser):
    """Rendered Markdown that grows to fit its text instead of scrolling inside a message."""

    def __init__(self) -> None:
        super().__init__()
        self.setOpenExternalLinks(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().contentsChanged.connect(self._fit)

    def _fit(self) -> None:
        self.document().setTextWidth(max(self.viewport().width(), 100))
        self.setFixedHeight(int(self.document().size().height()) + 6)

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        self._fit()


class MessageView(QFrame):
    """One turn: who said it, its images, its text, and what it cost."""

    def __init__(
        self,
        role: str,
        text: str = "",
        images: list[tuple[QPixmap, str]] | None = None,
        on_image: Callable[[QPixmap, str], None] | None = None,
    ) -> None:
        super().__init__()
        self.role = role
        self.setObjectName("userMessage" if role == "user" else "assistantMessage")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        self.who = QLabel("You" if role == "user" else "Sightline")
        self.who.setObjectName("who")
        layout.addWidget(self.who)
        if images:
            row = QHBoxLayout()
            for pixmap, label in images:
                thumb = Thumbnail(pixmap, label)
                if on_image is not None:
                    thumb.clicked.connect(lambda p=pixmap, t=label: on_image(p, t))
                row.addWidget(thumb)
            row.addStretch(1)
            layout.addLayout(row)
        self.body = MarkdownView()
        layout.addWidget(self.body)
        self.footer = QLabel()
        self.footer.setObjectName("footer")
        self.footer.hide()
        layout.addWidget(self.footer)
        self.action_row = QHBoxLayout()
        self.action_row.addStretch(1)
        layout.addLayout(self.action_row)
        self.text = text
        self._last_render_ms = 0.0
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.timeout.connect(self._render)
        self._render()

    def add_action(self, label: str, handler: Callable[[], None]) -> QToolButton:
        button = QToolButton()
        button.setText(label)
        button.setAutoRaise(True)
        # Qt passes `checked` to clicked's slots; handlers here take no arguments.
        button.clicked.connect(lambda _checked=False: handler())
        self.action_row.addWidget(button)
        return button

    def append(self, chunk: str) -> None:
        """Streamed text is re-rendered at most ~30 times a second, never per token.

        A long answer takes longer to lay out, so the pause between renders
        grows with the cost of the last one: rendering never takes more than
        about a fifth of the GUI thread, however long the answer gets.
        """
        self.text += chunk
        if not self._render_timer.isActive():
            self._render_timer.start(max(33, int(4 * self._last_render_ms)))

    def set_text(self, text: str) -> None:
        self.text = text
        self._render()

    def _render(self) -> None:
        started = time.perf_counter()
        self.body.setMarkdown(self.text or "…")
        self._last_render_ms = (time.perf_counter() - started) * 1000

    def set_footer(self, text: str) -> None:
        self.footer.setText(text)
        self.footer.setVisible(bool(text))


class Chip(QFrame):
    """An attachment waiting to be sent: thumbnail, name, page progress, remove."""

    removed = Signal()

    def __init__(self, label: str) -> None:
        super().__init__()
        self.setObjectName("chip")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        self.thumb = QLabel()
        self.thumb.setFixedSize(40, 40)
        layout.addWidget(self.thumb)
        self.name = QLabel(label)
        layout.addWidget(self.name)
        self.progress = QProgressBar()
        self.progress.setFixedWidth(80)
        self.progress.hide()
        layout.addWidget(self.progress)
        close = QPushButton("\u00d7")  # a multiplication sign: the usual "remove" mark
        close.setFixedWidth(24)
        close.setToolTip("Remove")
        close.clicked.connect(self.removed.emit)
        layout.addWidget(close)
        self.images: list[ImagePart] = []
        self.job: Any = None
        """The worker reading this file, while it runs."""

    def add_image(self, part: ImagePart) -> None:
        if not self.images:
            self.thumb.setPixmap(
                pixmap_from_part(part).scaled(
                    40,
                    40,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
        self.images.append(part)

    def set_progress(self, done: int, total: int) -> None:
        self.progress.setVisible(done < total)
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done}/{total} pages")


class Banner(QFrame):
    """An error or notice above the conversation; the conversation itself stays."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("banner")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        close = QPushButton("Dismiss")
        close.clicked.connect(self.hide)
        layout.addWidget(close)
        self.hide()

    def show_message(self, text: str, error: bool = True) -> None:
        self.setProperty("error", error)
        self.style().unpolish(self)
        self.style().polish(self)
        self.label.setText(text)
        self.show()
