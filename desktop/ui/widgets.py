"""Small widgets the window is built from: a message, an attachment chip, a banner."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QImage, QKeyEvent, QPalette, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from models.conversation import ImagePart

THUMB = 96
_FENCED = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def pixmap_from_part(part: ImagePart) -> QPixmap:
    image = QImage(part.rgb, part.width, part.height, part.width * 3, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())


def part_pixmaps(parts: list[ImagePart]) -> list[tuple[QPixmap, str]]:
    return [(pixmap_from_part(p), p.label) for p in parts]


def pixmap_from_png(data: bytes) -> QPixmap:
    pixmap = QPixmap()
    pixmap.loadFromData(data, "PNG")
    return pixmap


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
        self.setAccessibleName(f"Image {tooltip}")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # Enter or Space opens it, like a button

    def mousePressEvent(self, event: object) -> None:
        self.clicked.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.clicked.emit()
            return
        super().keyPressEvent(event)


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

    def show_markdown(self, text: str) -> None:
        """Render Markdown, then give code blocks a tinted background and fixed-pitch font.

        Qt's Markdown reader marks fenced blocks but draws them like prose;
        without the tint a code block is hard to tell from the answer's text.
        """
        # Imported here: making these types costs PySide several ms, and the window's
        # start shows no answer.
        from PySide6.QtGui import QFontDatabase, QTextCharFormat, QTextCursor, QTextFormat

        self.setMarkdown(text)
        tint = self.palette().color(QPalette.ColorRole.AlternateBase)
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        cursor = QTextCursor(self.document())
        block = self.document().begin()
        while block.isValid():
            if block.blockFormat().hasProperty(QTextFormat.Property.BlockCodeFence):
                cursor.setPosition(block.position())
                cursor.setPosition(
                    block.position() + block.length() - 1, QTextCursor.MoveMode.KeepAnchor
                )
                fmt = block.blockFormat()
                fmt.setBackground(tint)
                fmt.setLeftMargin(8)
                cursor.setBlockFormat(fmt)
                chars = QTextCharFormat()
                chars.setFont(fixed)
                cursor.mergeCharFormat(chars)
            block = block.next()

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
        self.footer.setWordWrap(True)  # model, speed, cache and why it stopped: often long
        self.footer.hide()
        layout.addWidget(self.footer)
        self.action_row = QHBoxLayout()
        self.action_row.setContentsMargins(0, 0, 0, 0)
        self.actions_: dict[str, QToolButton] = {}
        layout.addLayout(self.action_row)
        self.action_row.addStretch(1)
        self.text = text
        self._last_render_ms = 0.0
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.timeout.connect(self._render)
        self._render()

    def add_below_text(self, widget: QWidget) -> None:
        """Something shown with this turn, between its text and its footer (found boxes)."""
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(layout.indexOf(self.footer), widget)

    def add_action(self, label: str, handler: Callable[[], None]) -> QToolButton:
        button = QToolButton()
        button.setText(label)
        button.setAutoRaise(True)
        # Qt passes `checked` to clicked's slots; handlers here take no arguments.
        button.clicked.connect(lambda _checked=False: handler())
        self.action_row.addWidget(button)
        self.actions_[label] = button
        return button

    def clear_actions(self, keep: tuple[str, ...] = ()) -> None:
        for label in [k for k in self.actions_ if k not in keep]:
            button = self.actions_.pop(label)
            self.action_row.removeWidget(button)
            button.deleteLater()

    def text_now(self) -> str:
        return self.text

    def append(self, chunk: str) -> None:
        """Streamed text is re-rendered at most ~20 times a second, never per token.

        A long answer takes longer to lay out, so the pause between renders
        grows with the cost of the last one: rendering never takes more than
        about a seventh of the GUI thread (painting and layout come on top),
        however long the answer gets.
        """
        self.text += chunk
        if not self._render_timer.isActive():
            self._render_timer.start(max(50, int(6 * self._last_render_ms)))

    def set_text(self, text: str) -> None:
        self.text = text
        self._render()

    def _render(self) -> None:
        started = time.perf_counter()
        self.body.show_markdown(self.text or "…")
        self._last_render_ms = (time.perf_counter() - started) * 1000

    def code_blocks(self) -> list[str]:
        """The fenced code blocks of the text, each without its fences."""
        return [m.group(1) for m in _FENCED.finditer(self.text)]

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
        self.progress.setFixedWidth(110)
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
        self.label = label
        self.path: Path | None = None
        self.pages: str | None = None
        self.page_count = 0
        self.page_cap = 0

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

    def set_pages(self, pages: str) -> None:
        """The chosen pages, shown on the chip: "report.pdf (pages 3-5)"."""
        self.name.setText(f"{self.label} (pages {pages})")

    def set_progress(self, done: int, total: int) -> None:
        self.progress.setVisible(done < total)
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"page {min(done + 1, total)} of {total}")


class Banner(QFrame):
    """A message above the conversation, in one of three looks: error, notice or success.

    Each message may name its cause ("no-model", "export", ...); when that
    cause is gone the owner clears it, so a banner never outlives its reason.
    """

    KINDS = ("error", "notice", "success")

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("banner")
        self.kind = "error"
        self.cause: str | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 8, 6)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        self.action_button = QPushButton()
        self.action_button.hide()
        layout.addWidget(self.action_button)
        close = QPushButton("Dismiss")
        close.clicked.connect(self.dismiss)
        layout.addWidget(close)
        self._action: Callable[[], None] | None = None
        self.action_button.clicked.connect(self._run_action)
        self.hide()

    def show_message(
        self,
        text: str,
        kind: str = "error",
        cause: str | None = None,
        action: tuple[str, Callable[[], None]] | None = None,
    ) -> None:
        assert kind in self.KINDS, kind
        self.kind = kind
        self.cause = cause
        self.setProperty("kind", kind)
        self.style().unpolish(self)
        self.style().polish(self)
        self.label.setText(text)
        self._action = action[1] if action else None
        self.action_button.setText(action[0] if action else "")
        self.action_button.setVisible(action is not None)
        self.show()

    def clear(self, cause: str | None = None) -> None:
        """Hide the message if it is about ``cause`` (any message when ``cause`` is None)."""
        if cause is None or self.cause == cause:
            self.dismiss()

    def dismiss(self) -> None:
        self.cause = None
        self._action = None
        self.hide()

    def _run_action(self) -> None:
        action = self._action
        self.dismiss()
        if action is not None:
            action()
