"""The right-hand side: banner, the thread (or welcome), attachments, presets and the composer."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QMenu,
    QPushButton,
    QStatusBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.cloud_policy import is_cloud
from desktop.history.store import StoredMessage
from desktop.presets import Preset
from desktop.ui.attachments import Attachments
from desktop.ui.composer import Composer
from desktop.ui.icons import icon
from desktop.ui.turns import TurnController
from desktop.ui.widgets import Banner
from models.errors import InputError

PRESET_ORDER = (
    "caption",
    "alt-text",
    "keywords",
    "ocr",
    "json",
    "compare",
    "defects",
    "ui-review",
    "chart",
)


class ChatPanel(QWidget):
    send_requested = Signal()

    def __init__(
        self,
        attachments: Attachments,
        presets: dict[str, Preset],
        turns: TurnController,
        send: Callable[..., Any],
        status_bar: QStatusBar,
    ) -> None:
        super().__init__()
        self.attachments = attachments
        self.presets = presets
        self.turns = turns
        self.send = send
        self.status_bar = status_bar
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(4, 8, 8, 8)
        self.layout_.setSpacing(6)
        self.banner = Banner()
        self.layout_.addWidget(self.banner)
        self.layout_.addWidget(attachments)
        compose = QHBoxLayout()
        compose.setSpacing(6)
        self.attach = QToolButton()
        self.attach.setIcon(icon("attach"))
        self.attach.setToolTip("Attach images or PDFs (Ctrl+O)")
        self.attach.setAccessibleName("Attach")
        self.attach.clicked.connect(attachments.ask_files)
        compose.addWidget(self.attach)
        self.preset_button = QToolButton()
        self.preset_button.setText("Presets")
        self.preset_button.setIcon(icon("presets"))
        self.preset_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.preset_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.preset_button.setToolTip("Ready-made prompts: caption, alt text, OCR, JSON, …")
        menu = QMenu(self.preset_button)
        for name in PRESET_ORDER:
            preset = presets.get(name)
            if preset is not None:
                action = menu.addAction(preset.title, functools.partial(self.run_preset, preset))
                action.setToolTip(preset.description)
        menu.setToolTipsVisible(True)
        self.preset_button.setMenu(menu)
        compose.addWidget(self.preset_button)
        self.composer = Composer(attachments)
        self.composer.send_requested.connect(self.send_requested.emit)
        compose.addWidget(self.composer, 1)
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("send")
        self.send_button.setIcon(icon("send"))
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self.send_requested.emit)
        compose.addWidget(self.send_button)
        self.compose_row = compose

    def set_centre(self, widget: QWidget) -> None:
        self.layout_.insertWidget(1, widget, 1)
        self.layout_.addLayout(self.compose_row)

    def refresh_icons(self, busy: bool) -> None:
        self.attach.setIcon(icon("attach"))
        self.preset_button.setIcon(icon("presets"))
        self.set_busy(busy)

    def set_busy(self, busy: bool) -> None:
        self.send_button.setText("Stop" if busy else "Send")
        self.send_button.setIcon(icon("stop" if busy else "send"))
        self.send_button.setToolTip("Stop the answer (Esc)" if busy else "Send (Enter)")

    def show_cost(self, messages: list[StoredMessage]) -> None:
        """The conversation's cloud spend so far; nothing shown for local-only chats."""
        bar = self.status_bar
        if any(is_cloud(m.backend or "") for m in messages):
            spent = sum(m.cost_usd or 0.0 for m in messages)
            bar.showMessage(f"Cloud cost of this conversation: ${spent:.4f}")
        else:
            bar.clearMessage()

    def run_preset(self, preset: Preset) -> None:
        fields: tuple[str, ...] | None = None
        if preset.needs_fields:
            text, ok = QInputDialog.getText(
                self,
                preset.title,
                "Fields to extract, separated by commas:",
                text="title,date,total",
            )
            if not ok:
                return
            fields = tuple(f.strip() for f in text.split(",") if f.strip())
        pending = self.attachments.pending_images()
        if not pending and self.turns.conversation_id is None:
            self.banner.show_message(
                f"Attach an image first, then choose {preset.title}.", "notice"
            )
            return
        if pending and len(pending) < preset.min_images:
            self.banner.show_message(
                f"{preset.title} needs at least {preset.min_images} images.", "notice"
            )
            return
        try:
            prompt = preset.render(fields)
        except InputError as exc:
            self.banner.show_message(str(exc))
            return
        self.send(prompt, preset=True, max_tokens=preset.max_tokens, json_fields=fields)
