"""Right-click "Describe with Sightline": a small window that streams a description.

It runs on the main window's model host and pools, so when Sightline is
already open the model is warm and the answer starts at once. When the
right-click started Sightline, the answer was started before the window
(``desktop.popup_answer.EarlyAnswer``) and the popup relays it; the window
itself is built once that answer is done (``WindowSource``), so building it
does not take the processor from the answer the user is waiting for.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QThreadPool, Signal
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.messages import describe_error
from desktop.popup_answer import PRESET, EarlyAnswer, PopupRequest, pick, popup_opt_in
from desktop.ui import worker
from desktop.ui.history_writes import record_turn
from desktop.ui.widgets import MarkdownView, pixmap_from_part
from models.backend import Progress, Usage
from models.conversation import ImagePart
from models.entry import ModelEntry

if TYPE_CHECKING:
    from desktop.ui.main_window import MainWindow


class WindowSource(Protocol):
    """Where a popup's answer runs (the window's model thread) and the window that "Open in
    chat" shows: the main window itself, or one built only when first needed."""

    @property
    def model_pool(self) -> QThreadPool: ...

    def window(self) -> MainWindow: ...


class PopupWindow(QWidget):
    settled = Signal()
    """Its answer ended: finished, failed or stopped."""

    def __init__(self, source: WindowSource, path: Path, early: EarlyAnswer | None = None) -> None:
        super().__init__()
        self.source = source
        self.path = path
        self.answer = ""
        self.model_label = ""
        self.job: worker.StreamJob | None = None
        self.entry: ModelEntry | None = None
        self.images: list[ImagePart] = []
        self.usage = Usage()
        self.status = QLabel("Reading the image…")
        self._start(early)  # the answer first: the widgets are built while the model reads
        self.setWindowTitle(f"Sightline — {path.name}")
        self.resize(520, 420)
        layout = QVBoxLayout(self)
        self.thumb = QLabel()
        layout.addWidget(self.thumb)
        self.text = MarkdownView()
        layout.addWidget(self.text, 1)
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        row = QHBoxLayout()
        copy = QPushButton("Copy")
        copy.clicked.connect(lambda: QApplication.clipboard().setText(self.answer))
        row.addWidget(copy)
        save = QPushButton("Save alt text…")
        save.clicked.connect(self._save)
        row.addWidget(save)
        open_chat = QPushButton("Open in chat")
        open_chat.clicked.connect(self.open_in_chat)
        row.addWidget(open_chat)
        row.addStretch(1)
        layout.addLayout(row)

    def _request(self) -> PopupRequest | None:
        main = self.source.window()
        entry = pick(main.current_entry(), main.models, popup_opt_in(main.settings))
        if entry is None:
            return None
        return PopupRequest(self.path, entry, main.settings, main.presets[PRESET])

    def _start(self, early: EarlyAnswer | None) -> None:
        request = early.request if early is not None else self._request()
        if request is None:
            self.status.setText("No model yet — open Sightline to download or import one.")
            return
        self.entry = request.entry
        self.model_label = request.label
        work: Callable[[threading.Event], Iterator[object]]
        if early is not None:
            work = early.relay
        else:
            host = self.source.window().host
            work = functools.partial(request.work, host)
        self.job = worker.stream(
            self.source.model_pool, work, self._on_item, self._on_failed, self.settled.emit
        )

    def _on_item(self, item: object) -> None:
        if isinstance(item, list):
            self.images = item
            if item:
                self.thumb.setPixmap(pixmap_from_part(item[0]).scaledToHeight(120))
            self.status.setText(f"Describing with {self.model_label}…")
        elif isinstance(item, Usage):
            self.usage = item
            self.status.setText(
                f"{self.model_label} · {item.tokens_per_s:.1f} tokens/s · "
                f"{item.cached_tokens} cached"
            )
        elif isinstance(item, Progress):
            self.status.setText(f"{str(item).capitalize()} with {self.model_label}…")
        elif isinstance(item, str):
            self.answer += item
            self.text.setMarkdown(self.answer)

    def _on_failed(self, exc: BaseException) -> None:
        self.status.setText(describe_error(exc).text)

    def _save(self) -> None:
        suggested = str(self.path.with_suffix(".alt.txt"))
        target, _ = QFileDialog.getSaveFileName(self, "Save alt text", suggested)
        if target:
            Path(target).write_text(self.answer.strip() + "\n", encoding="utf-8")
            self.status.setText(f"Saved to {target}")

    def open_in_chat(self) -> None:
        """A conversation holding the image and this answer, ready for a follow-up."""
        main = self.source.window()
        main.show()
        main.raise_()
        main.activateWindow()
        entry = self.entry
        if entry is None or not self.answer.strip() or self.job is None or self.job.running:
            main.attach_files([str(self.path)])
        else:
            main.writes.run(
                lambda w: record_turn(
                    w,
                    main.presets[PRESET].prompt,
                    self.images,
                    self.answer,
                    self.usage,
                    model=entry.qualified_name,
                    backend=entry.backend,
                    title=self.path.name,
                ),
                main.open_conversation,
            )
        self.close()

    def closeEvent(self, event: object) -> None:
        if self.job is not None:
            self.job.stop()
        super().closeEvent(event)  # type: ignore[arg-type]
