"""The conversation as it is read: messages, their footers and actions, following the stream.

While the reader is at the bottom the view follows a streaming answer;
scrolling up stops that, and a "Jump to latest" button brings them back.
Lines stay at a readable length (about 80 characters) however wide the
window is.
"""

from __future__ import annotations

import functools
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop.cloud_policy import is_cloud
from desktop.history.store import HistoryStore, StoredMessage
from desktop.messages import answer_ending
from desktop.ui.turns import TurnController
from desktop.ui.widgets import MessageView, pixmap_from_png
from models.backend import Usage
from models.entry import ModelEntry

_LINE_CHARS = 80
_AT_BOTTOM_PX = 24


def usage_footer(model: str, backend: str, usage: Usage) -> str:
    bits = [model, "☁ cloud" if is_cloud(backend) else backend]
    if is_cloud(backend):
        cost = usage.cost_usd
        bits.append(f"${cost:.4f}" if cost is not None else "price unknown")
    if usage.tokens_per_s:
        bits.append(f"{usage.tokens_per_s:.1f} tokens/s")
    bits.append(f"{usage.cached_tokens} cached tokens")
    if usage.ttft_ms:
        bits.append(f"first token {usage.ttft_ms:.0f} ms")
    # The reason of an error is in the banner; the footer only says the answer is cut short.
    if ending := answer_ending(usage.finish_reason):
        bits.append(ending)
    return " · ".join(bits)


def stored_footer(m: StoredMessage) -> str:
    cloud = is_cloud(m.backend or "")
    bits = [m.model or "", "☁ cloud" if cloud else m.backend or ""]
    if cloud and m.cost_usd is not None:
        bits.append(f"${m.cost_usd:.4f}")
    if m.tokens_per_s:
        bits.append(f"{m.tokens_per_s:.1f} tokens/s")
    if m.cached_tokens is not None:
        bits.append(f"{m.cached_tokens} cached tokens")
    if m.status != "complete" or m.finish_reason == "length":
        bits.append(answer_ending(m.finish_reason) or "")
    return " · ".join(b for b in bits if b)


class ThreadView(QWidget):
    edit_requested = Signal(object)
    """A StoredMessage the user wants to edit and resend."""
    regenerate_requested = Signal()
    continue_requested = Signal()
    image_requested = Signal(object, str)
    """(QPixmap, label) of a thumbnail that was clicked."""

    def __init__(self) -> None:
        super().__init__()
        self.following = True
        self.views: list[MessageView] = []
        self.answer: MessageView | None = None
        self.answer_entry: ModelEntry | None = None
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.scroll_area = QScrollArea()
        self.scroll_area.setObjectName("thread")
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer = QWidget()
        outer.setObjectName("threadBackground")
        centre = QHBoxLayout(outer)
        centre.setContentsMargins(12, 12, 12, 12)
        self.column = QWidget()
        self.layout_ = QVBoxLayout(self.column)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setSpacing(14)
        self.hint = QLabel("Drop images or PDFs here, or paste — then ask about them.")
        self.hint.setObjectName("dropHint")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.layout_.addWidget(self.hint, 1)
        self.layout_.addStretch(1)
        centre.addStretch(0)
        centre.addWidget(self.column, 1)
        centre.addStretch(0)
        self.scroll_area.setWidget(outer)
        grid.addWidget(self.scroll_area, 0, 0)
        self.jump = QPushButton("↓ Jump to latest")
        self.jump.setObjectName("jump")
        self.jump.clicked.connect(self.jump_to_latest)
        self.jump.hide()
        grid.addWidget(
            self.jump, 0, 0, Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignHCenter
        )
        bar = self.scroll_area.verticalScrollBar()
        bar.rangeChanged.connect(self._range_changed)
        bar.valueChanged.connect(self._scrolled)
        self._fit_column()

    # -- following ---------------------------------------------------------------

    def at_bottom(self) -> bool:
        bar = self.scroll_area.verticalScrollBar()
        return bar.value() >= bar.maximum() - _AT_BOTTOM_PX

    def jump_to_latest(self) -> None:
        self.following = True
        self.jump.hide()
        bar = self.scroll_area.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _range_changed(self, _low: int, high: int) -> None:
        if self.following:
            self.scroll_area.verticalScrollBar().setValue(high)

    def _scrolled(self, _value: int) -> None:
        self.following = self.at_bottom()
        self.jump.setVisible(not self.following and bool(self.views))

    # -- width -------------------------------------------------------------------

    def _fit_column(self) -> None:
        width = self.fontMetrics().averageCharWidth() * _LINE_CHARS + 60
        self.column.setMaximumWidth(width)

    # -- messages ----------------------------------------------------------------

    def clear(self) -> None:
        for view in self.views:
            self.layout_.removeWidget(view)
            view.deleteLater()
        self.views = []
        self.hint.show()
        self.jump.hide()
        self.following = True

    def add_message(
        self, role: str, text: str = "", images: list[tuple[QPixmap, str]] | None = None
    ) -> MessageView:
        """A new turn at the end; adding a question brings the reader to it."""
        self.hint.hide()
        view = MessageView(role, text, images, on_image=self.image_requested.emit)
        view.add_action("Copy", functools.partial(_copy, view.text_now))
        self.layout_.insertWidget(self.layout_.count() - 1, view)
        self.views.append(view)
        if role == "user":
            self.following = True
            QTimer.singleShot(0, self.jump_to_latest)
        return view

    def show_history(self, store: HistoryStore, messages: list[StoredMessage]) -> None:
        self.clear()
        for m in messages:
            self.add_message(m.role, m.text, _stored_images(store, m))
        self.bind(messages)
        QTimer.singleShot(0, self.jump_to_latest)

    def bind(self, messages: list[StoredMessage]) -> None:
        """Give each turn what history knows: Edit on every question, footers, Regenerate last.

        Called after every answer, so a question sent a moment ago can be
        edited at once, as can every question after an edit.
        """
        if len(messages) != len(self.views):
            return
        last = len(messages) - 1
        for i, (view, m) in enumerate(zip(self.views, messages, strict=True)):
            view.clear_actions(keep=("Copy",))
            if m.role == "user":
                view.add_action("Edit and resend", functools.partial(self.edit_requested.emit, m))
                continue
            if not view.footer.text():
                view.set_footer(stored_footer(m))
            for n, code in enumerate(view.code_blocks(), 1):
                view.add_action(f"Copy code {n}", functools.partial(_copy, lambda c=code: c))
            if i == last:
                view.add_action("Regenerate", self.regenerate_requested.emit)
                if "length limit" in view.footer.text():
                    view.add_action("Continue", self.continue_requested.emit)

    # -- the answer being written ------------------------------------------------

    def show_turns(self, turns: TurnController) -> None:
        """Show the controller's answers as they stream into the last message."""
        turns.status.connect(self._status)
        turns.chunk.connect(self._chunk)
        turns.usage.connect(self._usage)
        turns.failed.connect(lambda _exc: self._ended(failed=True))
        turns.finished.connect(lambda _done: self._ended(failed=False))

    def start_answer(self, entry: ModelEntry) -> MessageView:
        self.answer = self.add_message("assistant")
        self.answer_entry = entry
        return self.answer

    def _status(self, text: str) -> None:
        if self.answer is not None and not self.answer.text:
            self.answer.set_footer(text)

    def _chunk(self, text: str) -> None:
        if self.answer is None:
            return
        if not self.answer.text:
            self.answer.set_footer("")
        self.answer.append(text)

    def _usage(self, usage: Usage) -> None:
        if self.answer is not None and self.answer_entry is not None:
            entry = self.answer_entry
            self.answer.set_footer(usage_footer(entry.qualified_name, entry.backend, usage))

    def _ended(self, failed: bool) -> None:
        view = self.answer
        if view is None:
            return
        if failed and view.footer.text().endswith("…"):
            view.set_footer("")
        view.set_text(view.text or ("*(no answer)*" if failed else "*(empty answer)*"))
        if failed:
            self.answer = None

    def last_answer(self) -> MessageView | None:
        return self.views[-1] if self.views and self.views[-1].role == "assistant" else None


def _stored_images(store: HistoryStore, m: StoredMessage) -> list[tuple[QPixmap, str]]:
    return [(pixmap_from_png(store.blob_png(a.digest)), a.label) for a in m.attachments]


def _copy(text: Any) -> None:
    QApplication.clipboard().setText(text())
