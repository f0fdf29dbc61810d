"""The chat window: conversations on the left, the conversation and the composer on the right.

Every slow thing (model loading and answering, ingestion, history writes,
downloads) runs on a worker and reports back by signals; the GUI thread only
draws. Model work has its own single-thread pool, so the one loaded model is
only ever touched by one thread, in order.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, Qt, QThreadPool, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from desktop.cloud_policy import is_cloud
from desktop.history.store import HistoryStore, StoredMessage
from desktop.messages import describe_error
from desktop.model_choice import ModelChoice, installed_models, remote_models
from desktop.model_host import ModelHost
from desktop.presets import Preset, load_presets
from desktop.response_cache import CachingBackend, ResponseCache, cache_wanted
from desktop.session import ChatSession, TurnResult
from desktop.settings import Settings, load_settings
from desktop.ui import worker
from desktop.ui.welcome import WelcomePanel
from desktop.ui.widgets import (
    Banner,
    Chip,
    ImageViewer,
    MessageView,
    pixmap_from_part,
    pixmap_from_png,
)
from models.backend import Backend, GenParams, Usage
from models.conversation import ImagePart
from models.entry import ModelEntry
from models.errors import InputError

_log = logging.getLogger(__name__)
_LIST_PAGE = 60
_PRESET_ORDER = (
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


class Composer(QPlainTextEdit):
    """Enter sends, Shift+Enter breaks the line; pasted images and files become attachments."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self._window = window
        self.setPlaceholderText(
            "Ask about your images… (Enter to send, Shift+Enter for a new line)"
        )
        self.setMaximumHeight(110)

    def keyPressEvent(self, event: Any) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
            event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        ):
            self._window.send()
            return
        super().keyPressEvent(event)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return source.hasImage() or source.hasUrls() or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        if self._window.take_mime(source):
            return
        super().insertFromMimeData(source)


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        self.settings = settings or load_settings()
        self.setWindowTitle("Sightline")
        self.resize(1100, 760)
        self.setAcceptDrops(True)
        self.store = HistoryStore.open()
        self._writer: HistoryStore | None = None
        self.model_pool = QThreadPool(self)
        self.model_pool.setMaxThreadCount(1)
        self.io_pool = QThreadPool(self)
        self.io_pool.setMaxThreadCount(2)
        self.host = ModelHost()
        self.presets = load_presets()
        self.conversation_id: int | None = None
        self._session: ChatSession | None = None
        self._answering: worker.Job | None = None
        self._streaming: MessageView | None = None
        self._jobs: set[worker.Job] = set()
        self.models: list[ModelEntry] = []
        self._listed = 0
        self._pending_cloud_ok: str | None = None
        self._closed = False
        self._caching: CachingBackend | None = None
        self._response_cache: ResponseCache | None = None
        self.chips: list[Chip] = []
        self._build()
        self.refresh_models()
        self.refresh_conversations()
        self._show_welcome_if_needed()

    @property
    def writer(self) -> HistoryStore:
        """The connection history writes go through, opened on the model thread's first write."""
        if self._writer is None:
            self._writer = HistoryStore.open()
        return self._writer

    # -- layout -------------------------------------------------------------------

    def _build(self) -> None:
        bar = QToolBar("Main")
        bar.setMovable(False)
        self.addToolBar(bar)
        new_chat = QAction("New chat", self)
        new_chat.triggered.connect(self.new_chat)
        bar.addAction(new_chat)
        bar.addSeparator()
        bar.addWidget(QLabel(" Model: "))
        self.model_picker = QComboBox()
        self.model_picker.setMinimumWidth(280)
        self.model_picker.currentIndexChanged.connect(self._model_picked)
        bar.addWidget(self.model_picker)
        self.cloud_fallback = QCheckBox("Cloud fallback")
        self.cloud_fallback.setToolTip(
            "For this conversation: when no local model can answer (none installed, or images "
            "for a text-only model), ask a cloud model you have a key for. Off by default."
        )
        self.cloud_fallback.toggled.connect(self._fallback_toggled)
        bar.addWidget(self.cloud_fallback)
        settings_action = QAction("Settings", self)
        settings_action.triggered.connect(self.open_settings)
        bar.addAction(settings_action)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search conversations")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.refresh_conversations)
        left_layout.addWidget(self.search)
        self.conversations = QListWidget()
        self.conversations.itemClicked.connect(
            lambda item: self.open_conversation(int(item.data(Qt.ItemDataRole.UserRole)))
        )
        self.conversations.verticalScrollBar().valueChanged.connect(self._list_scrolled)
        self.conversations.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.conversations.customContextMenuRequested.connect(self._conversation_menu)
        left_layout.addWidget(self.conversations)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        self.banner = Banner()
        right_layout.addWidget(self.banner)
        self.stack = QStackedWidget()
        self.welcome = WelcomePanel(self)
        self.stack.addWidget(self.welcome)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.thread_widget = QWidget()
        self.thread_layout = QVBoxLayout(self.thread_widget)
        self.thread_layout.addStretch(1)
        self.scroll_area.setWidget(self.thread_widget)
        self.stack.addWidget(self.scroll_area)
        right_layout.addWidget(self.stack, 1)

        self.chip_row = QHBoxLayout()
        self.chip_row.addStretch(1)
        right_layout.addLayout(self.chip_row)
        presets = QHBoxLayout()
        for name in _PRESET_ORDER:
            preset = self.presets.get(name)
            if preset is None:
                continue
            button = QPushButton(preset.title)
            button.setToolTip(preset.description)
            button.clicked.connect(lambda _=False, p=preset: self.run_preset(p))
            presets.addWidget(button)
        presets.addStretch(1)
        right_layout.addLayout(presets)
        compose = QHBoxLayout()
        attach = QPushButton("Attach…")
        attach.clicked.connect(self._attach_dialog)
        compose.addWidget(attach)
        self.composer = Composer(self)
        compose.addWidget(self.composer, 1)
        self.send_button = QPushButton("Send")
        self.send_button.clicked.connect(self._send_or_stop)
        compose.addWidget(self.send_button)
        right_layout.addLayout(compose)

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([260, 840])
        self.setCentralWidget(splitter)
        self.stack.setCurrentWidget(self.scroll_area)

        QShortcut(QKeySequence("Ctrl+N"), self, self.new_chat)
        QShortcut(QKeySequence("Ctrl+F"), self, self.search.setFocus)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.stop)

    # -- models -------------------------------------------------------------------

    def refresh_models(self) -> None:
        """Local models at once; Ollama and OpenAI-compatible servers when they answer."""
        self.models = installed_models(self.settings)
        self._fill_picker()

        def work(cancel: threading.Event) -> Iterator[list[ModelEntry]]:
            from desktop.cloud_models import keyed_cloud_models

            yield remote_models(self.settings) + keyed_cloud_models()

        self._track(
            worker.start(self.io_pool, work, self._remote_models_found, self._remote_models_failed)
        )

    def _remote_models_failed(self, exc: BaseException) -> None:
        _log.warning("listing Ollama, server and cloud models failed", exc_info=exc)

    def _remote_models_found(self, entries: list[ModelEntry]) -> None:
        if entries:
            self.models = installed_models(self.settings) + entries
            self._fill_picker()
            self._show_welcome_if_needed()

    def _fill_picker(self) -> None:
        current = self.current_model_label()
        wanted = current or self.settings.default_model
        self.model_picker.blockSignals(True)
        self.model_picker.clear()
        for entry in self.models:
            badge = "  [vision]" if entry.vision else "  [text only]"
            if is_cloud(entry.backend):
                badge += "  [cloud]"
            self.model_picker.addItem(entry.qualified_name + badge, entry.qualified_name)
        index = self.model_picker.findData(wanted) if wanted else -1
        if index < 0 and wanted:
            index = next((i for i, e in enumerate(self.models) if e.name == wanted), -1)
        self.model_picker.setCurrentIndex(max(index, 0))
        self.model_picker.blockSignals(False)

    def current_model_label(self) -> str | None:
        data = self.model_picker.currentData()
        return str(data) if data else None

    def current_entry(self) -> ModelEntry | None:
        label = self.current_model_label()
        return next((e for e in self.models if e.qualified_name == label), None)

    def _model_picked(self, _index: int) -> None:
        entry = self.current_entry()
        if entry is not None and not entry.vision and self.pending_images():
            self.banner.show_message(
                f"{entry.qualified_name} is a text-only model: it cannot see the attached images, "
                "so they would not be sent. Pick a model marked [vision] or remove the images."
            )

    def _choice(self, entry: ModelEntry) -> ModelChoice:
        return ModelChoice(
            label=entry.qualified_name,
            backend=entry.backend,
            path=Path(entry.path) if entry.path else None,
            mmproj=Path(entry.mmproj) if entry.mmproj else None,
        )

    def _show_welcome_if_needed(self) -> None:
        if self.models:
            if self.stack.currentWidget() is self.welcome:
                self.stack.setCurrentWidget(self.scroll_area)
        else:
            self.welcome.refresh()
            self.stack.setCurrentWidget(self.welcome)

    # -- conversations --------------------------------------------------------------

    def refresh_conversations(self) -> None:
        if self._closed:  # a job finishing after the window closed
            return
        query = self.search.text().strip()
        self.conversations.clear()
        if query:
            seen: set[int] = set()
            for hit in self.store.search(query):
                if hit.conversation_id in seen:
                    continue
                seen.add(hit.conversation_id)
                self._add_conversation_item(
                    hit.conversation_id, hit.title or "(untitled)", hit.snippet
                )
        else:
            self._listed = 0
            self._list_more()

    def _list_more(self) -> None:
        """The newest conversations first; older ones load as the list is scrolled down."""
        if self.search.text().strip():
            return
        rows = self.store.list_conversations(limit=_LIST_PAGE, offset=self._listed)
        self._listed += len(rows)
        for row in rows:
            title = row.title or "(untitled)"
            if row.model and is_cloud(row.model.split(":", 1)[0]):
                title = "☁ " + title
            self._add_conversation_item(row.id, title, row.model or "")

    def _list_scrolled(self, value: int) -> None:
        if value >= self.conversations.verticalScrollBar().maximum():
            self._list_more()

    def _add_conversation_item(self, cid: int, title: str, tooltip: str) -> None:
        item = QListWidgetItem(title)
        item.setData(Qt.ItemDataRole.UserRole, cid)
        item.setToolTip(tooltip)
        self.conversations.addItem(item)
        if cid == self.conversation_id:
            item.setSelected(True)

    def _conversation_menu(self, pos: Any) -> None:
        item = self.conversations.itemAt(pos)
        if item is None:
            return
        cid = int(item.data(Qt.ItemDataRole.UserRole))
        menu = QMenu(self)
        menu.addAction("Rename…", lambda: self._rename(cid))
        menu.addAction("Export Markdown…", lambda: self._export(cid, "md"))
        menu.addAction("Export JSON…", lambda: self._export(cid, "json"))
        menu.addSeparator()
        menu.addAction("Delete…", lambda: self._confirm_delete(cid))
        menu.exec(self.conversations.mapToGlobal(pos))

    def _rename(self, cid: int) -> None:
        title, ok = QInputDialog.getText(self, "Rename", "Title:", text=self.store.title(cid))
        if ok and title.strip():
            self.rename_conversation(cid, title.strip())

    def rename_conversation(self, cid: int, title: str) -> None:
        self._write(lambda: self.writer.rename(cid, title))

    def _confirm_delete(self, cid: int) -> None:
        answer = QMessageBox.question(
            self,
            "Delete conversation",
            f"Delete “{self.store.title(cid) or 'this conversation'}” and its images? "
            "This cannot be undone.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_conversation(cid)

    def delete_conversation(self, cid: int) -> None:
        if cid == self.conversation_id:
            self.new_chat()
        self._write(lambda: self.writer.delete_conversation(cid))

    def _export(self, cid: int, fmt: str) -> None:
        suggested = str(Path.home() / f"conversation-{cid}.{fmt}")
        path, _ = QFileDialog.getSaveFileName(self, "Export conversation", suggested)
        if path:
            self.export_conversation(cid, fmt, Path(path))

    def export_conversation(self, cid: int, fmt: str, path: Path) -> worker.Job:
        from desktop.history.export import export_json, export_markdown

        exporter = export_json if fmt == "json" else export_markdown

        def work(cancel: threading.Event) -> Iterator[Path]:
            yield exporter(self.writer, cid, path)

        return self._track(
            worker.start(
                self.model_pool,
                work,
                lambda out: self.banner.show_message(f"Exported to {out}", error=False),
                self._show_error,
            )
        )

    def _write(self, action: Any) -> worker.Job:
        """History writes happen on the model thread, in order with the answers."""

        def work(cancel: threading.Event) -> Iterator[None]:
            action()
            yield None

        return self._track(
            worker.start(
                self.model_pool,
                work,
                on_failed=self._show_error,
                on_finished=self.refresh_conversations,
            )
        )

    def new_chat(self) -> None:
        self.stop()
        self.conversation_id = None
        self._session = None
        self._pending_cloud_ok = None
        self.cloud_fallback.setChecked(False)
        self._clear_thread()
        self.banner.hide()
        self.composer.setFocus()

    def open_conversation(self, cid: int) -> None:
        self.stop()
        self.conversation_id = cid
        self._session = None
        self.cloud_fallback.blockSignals(True)
        fallback = self.store.conversation_settings(cid).get("cloud_fallback")
        self.cloud_fallback.setChecked(bool(fallback))
        self.cloud_fallback.blockSignals(False)
        self._render_history()

    def _clear_thread(self) -> None:
        while self.thread_layout.count() > 1:
            item = self.thread_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()

    def _show_cost(self, messages: list[StoredMessage]) -> None:
        """The conversation's cloud spend so far; nothing shown for local-only chats."""
        spent = sum(m.cost_usd or 0.0 for m in messages)
        if any(is_cloud(m.backend or "") for m in messages):
            self.statusBar().showMessage(f"Cloud cost of this conversation: ${spent:.4f}")
        else:
            self.statusBar().clearMessage()

    def _render_history(self) -> None:
        self._clear_thread()
        self.statusBar().clearMessage()
        if self.conversation_id is None:
            return
        messages = self.store.conversation_messages(self.conversation_id)
        self._show_cost(messages)
        last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
        for i, m in enumerate(messages):
            view = self._add_message(m.role, m.text, self._stored_images(m))
            if m.role == "assistant":
                view.set_footer(_footer(m))
                if i == len(messages) - 1:
                    view.add_action("Regenerate", self.regenerate)
            elif i <= last_user:
                view.add_action("Edit and resend", functools.partial(self._edit_dialog, m))

    def _add_message(
        self, role: str, text: str = "", images: list[tuple[Any, str]] | None = None
    ) -> MessageView:
        view = MessageView(role, text, images, on_image=self._view_image)
        view.add_action("Copy", functools.partial(_copy_view, view))
        self.thread_layout.insertWidget(self.thread_layout.count() - 1, view)
        QTimer.singleShot(0, self._scroll_to_end)
        return view

    def _scroll_to_end(self) -> None:
        bar = self.scroll_area.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _stored_images(self, m: StoredMessage) -> list[tuple[Any, str]]:
        return [(pixmap_from_png(self.store.blob_png(a.digest)), a.label) for a in m.attachments]

    def _view_image(self, pixmap: Any, title: str) -> None:
        ImageViewer(pixmap, title, self).show()

    # -- attachments ------------------------------------------------------------------

    def pending_images(self) -> list[ImagePart]:
        return [img for chip in self.chips for img in chip.images]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        if self.take_mime(event.mimeData()):
            event.acceptProposedAction()

    def take_mime(self, mime: QMimeData) -> bool:
        """Files (dropped or copied) and images (pasted) become attachments."""
        files = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        if files:
            self.attach_files(files)
            return True
        if mime.hasImage():
            from PySide6.QtCore import QBuffer, QIODevice

            buffer = QBuffer()
            buffer.open(QIODevice.OpenModeFlag.WriteOnly)
            mime.imageData().save(buffer, "PNG")
            self.attach_image_bytes(bytes(buffer.data().data()), "pasted image")
            return True
        return False

    def _attach_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self,
            "Attach images or PDFs",
            str(Path.home()),
            "Images and PDFs (*.png *.jpg *.jpeg *.gif *.webp *.bmp *.tif *.tiff *.pdf);;"
            "All files (*)",
        )
        self.attach_files(files)

    def _max_side(self) -> int:
        entry = self.current_entry()
        if entry is not None:
            return self._choice(entry).max_image_side(self.settings)
        return self.settings.max_image_side

    def attach_files(self, files: list[str]) -> None:
        for name in files:
            path = Path(name)
            chip = Chip(path.name)
            self._add_chip(chip)
            self._ingest_into_chip(chip, path, pages=None)

    def _ingest_into_chip(self, chip: Chip, path: Path, pages: str | None) -> None:
        """Read the file on a worker: type, page count, then images as they are ready.

        A PDF longer than the cap comes back to the GUI thread once, to ask
        which pages to read, then carries on.
        """
        max_side = self._max_side()

        def work(cancel: threading.Event) -> Iterator[tuple[str, Any]]:
            # Ingestion pulls in Pillow, numpy and poppler glue: loaded here, off the GUI thread.
            from desktop.ingest import DEFAULT_MAX_PAGES, ingest_file, pdf_page_count, sniff_file
            from desktop.ingest.sniff import Kind

            if pages is None and sniff_file(path) is Kind.PDF:
                count = pdf_page_count(path)
                if count > DEFAULT_MAX_PAGES:
                    yield ("ask", (count, DEFAULT_MAX_PAGES))
                    return
            events: list[tuple[str, Any]] = []
            parts = ingest_file(
                path,
                max_side=max_side,
                pages=pages,
                cancel=cancel,
                on_progress=lambda d, t: events.append(("progress", (d, t))),
                on_notice=lambda n: events.append(("notice", n)),
            )
            for part in parts:
                yield from events
                events.clear()
                yield ("image", part)
            yield from events

        def on_item(item: tuple[str, Any]) -> None:
            kind, value = item
            if kind == "image":
                chip.add_image(value)
            elif kind == "progress":
                chip.set_progress(*value)
            elif kind == "ask":
                QTimer.singleShot(0, lambda: self._ask_pages(chip, path, *value))
            else:
                self.banner.show_message(value, error=False)

        def on_failed(exc: BaseException) -> None:
            self._remove_chip(chip)
            self._show_error(exc)

        job = worker.start(self.io_pool, work, on_item, on_failed)

        def remove() -> None:
            job.stop()
            self._remove_chip(chip)

        chip.removed.connect(remove)
        chip.job = job
        self._track(job)

    def _ask_pages(self, chip: Chip, path: Path, count: int, cap: int) -> None:
        spec, ok = QInputDialog.getText(
            self,
            "Choose pages",
            f"{path.name} has {count} pages. Which pages should the model read? "
            f"(e.g. 1-{cap} or 1-3,7)",
            text=f"1-{cap}",
        )
        if not ok:
            self._remove_chip(chip)
            return
        chip.removed.disconnect()
        self._ingest_into_chip(chip, path, spec.strip() or f"1-{cap}")

    def attach_image_bytes(self, data: bytes, name: str) -> None:
        from desktop.ingest import prepare_image_bytes

        chip = Chip(name)
        self._add_chip(chip)
        max_side = self._max_side()

        def work(cancel: threading.Event) -> Iterator[ImagePart]:
            yield prepare_image_bytes(data, name, max_side)

        def on_failed(exc: BaseException) -> None:
            self._remove_chip(chip)
            self._show_error(exc)

        chip.removed.connect(lambda: self._remove_chip(chip))
        self._track(worker.start(self.io_pool, work, chip.add_image, on_failed))

    def _add_chip(self, chip: Chip) -> None:
        self.chips.append(chip)
        self.chip_row.insertWidget(self.chip_row.count() - 1, chip)

    def _remove_chip(self, chip: Chip) -> None:
        if chip in self.chips:
            self.chips.remove(chip)
            chip.deleteLater()

    def _chips_busy(self) -> bool:
        return any(c.job is not None and c.job.running for c in self.chips)

    # -- asking -----------------------------------------------------------------------------

    def _send_or_stop(self) -> None:
        if self._answering is not None:
            self.stop()
        else:
            self.send()

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
        if not self.pending_images() and self.conversation_id is None:
            self.banner.show_message(f"Attach an image first, then click {preset.title}.")
            return
        if len(self.pending_images()) < preset.min_images and self.pending_images():
            self.banner.show_message(f"{preset.title} needs at least {preset.min_images} images.")
            return
        try:
            prompt = preset.render(fields)
        except InputError as exc:
            self.banner.show_message(str(exc))
            return
        self.send(prompt, GenParams(max_tokens=preset.max_tokens, json_fields=fields), preset=True)

    def send(
        self, text: str | None = None, params: GenParams | None = None, preset: bool = False
    ) -> None:
        if self._answering is not None:
            return
        text = text if text is not None else self.composer.toPlainText().strip()
        images = self.pending_images()
        if not text and not images:
            return
        if self._chips_busy():
            self.banner.show_message("Still reading the attached files — send again in a moment.")
            return
        entry = self._answering_entry(bool(images))
        if entry is None:
            self.banner.show_message("No model yet — download one, import a GGUF, or use Ollama.")
            self._show_welcome_if_needed()
            return
        if is_cloud(entry.backend) and not self._cloud_consent(entry, text, images):
            return
        if images and not entry.vision:
            self.banner.show_message(
                f"{entry.qualified_name} is a text-only model and cannot see images, so they "
                "were not sent. Pick a model marked [vision], or remove the attachments."
            )
            return
        self.banner.hide()
        self.composer.clear()
        for chip in list(self.chips):
            self._remove_chip(chip)
        self._add_message("user", text or "(image)", _part_images(images))
        self._ask(entry, text, images, params or GenParams(max_tokens=1024), preset=preset)

    def _answering_entry(self, has_images: bool) -> ModelEntry | None:
        """The picked model, or with the cloud fallback on, a cloud one when it cannot answer."""
        entry = self.current_entry()
        can_answer = entry is not None and (entry.vision or not has_images)
        if can_answer or not self.cloud_fallback.isChecked():
            return entry
        return next((e for e in self.models if is_cloud(e.backend) and e.vision), entry)

    def _cloud_consent(self, entry: ModelEntry, text: str, images: list[ImagePart]) -> bool:
        """Ask once per conversation, showing exactly what leaves the machine."""
        cid = self.conversation_id
        if cid is not None and self.store.conversation_settings(cid).get("cloud_ok"):
            return True
        if cid is None and self._pending_cloud_ok == entry.qualified_name:
            return True
        sizes = ", ".join(f"{p.width}x{p.height}" for p in images) or "none"
        pages = sum(1 for p in images if " p." in p.label)
        earlier = len(self.store.conversation_messages(cid)) if cid is not None else 0
        answer = QMessageBox.question(
            self,
            "Send to a cloud model?",
            f"This conversation will be sent to {entry.qualified_name}, outside this computer:"
            f"\n\n• your message ({len(text)} characters)"
            f"\n• {len(images)} image(s): {sizes}"
            + (f" ({pages} PDF pages)" if pages else "")
            + f"\n• {earlier} earlier message(s) of this conversation\n\n"
            "Images are re-encoded without any metadata (no EXIF, GPS or camera data). "
            "You will not be asked again for this conversation.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return False
        if cid is not None:
            self._write(lambda: self.writer.update_conversation_settings(cid, cloud_ok=True))
        else:
            self._pending_cloud_ok = entry.qualified_name
        return True

    def _fallback_toggled(self, on: bool) -> None:
        cid = self.conversation_id
        if cid is not None:
            self._write(lambda: self.writer.update_conversation_settings(cid, cloud_fallback=on))

    def _cached(self, backend: Backend) -> Backend:
        """One caching wrapper per loaded model, so the conversation's session survives."""
        if self._caching is None or self._caching.inner is not backend:
            self._response_cache = self._response_cache or ResponseCache()
            self._caching = CachingBackend(backend, self._response_cache)
        return self._caching

    def _ask(
        self,
        entry: ModelEntry,
        text: str,
        images: list[ImagePart],
        params: GenParams,
        truncate_from: int | None = None,
        preset: bool = False,
    ) -> None:
        choice = self._choice(entry)
        view = self._add_message("assistant")
        self._streaming = view
        conversation_id = self.conversation_id
        result = TurnResult()

        def work(cancel: threading.Event) -> Iterator[object]:
            backend = self.host.backend(choice, self.settings, cloud_allowed=True)
            if cache_wanted(
                preset=params.temperature == 0 and preset,
                temperature=params.temperature,
                opted_in=self.settings.cache_answers,
            ):
                backend = self._cached(backend)
            if truncate_from is not None and conversation_id is not None:
                self.writer.truncate_after(conversation_id, truncate_from)
                self._session = None
            session = self._session
            if session is None or session.backend is not backend:
                session = (
                    ChatSession.resume(
                        self.writer, conversation_id, backend, model_label=choice.label
                    )
                    if conversation_id is not None
                    else ChatSession(backend, model_label=choice.label, store=self.writer)
                )
                self._session = session
            yield from session.ask(text, images, params, cancel, result)

        def on_item(event: object) -> None:
            if isinstance(event, Usage):
                view.set_footer(_usage_footer(choice.label, entry.backend, event))
                if event.extra.get("cache_hit"):
                    self.banner.show_message("Answered from the cache.", error=False)
                if event.finish_reason == "error" and event.error:
                    self.banner.show_message(f"The answer stopped early: {event.error}")
            else:
                view.append(str(event))

        def on_failed(exc: BaseException) -> None:
            view.set_text(view.text or "*(no answer)*")
            self._show_error(exc)

        def on_finished() -> None:
            view.set_text(view.text or "*(empty answer)*")
            view.add_action("Regenerate", self.regenerate)
            if result.conversation_id is not None and self.conversation_id is None:
                self.conversation_id = cid = result.conversation_id
                remembered = {"cloud_fallback": self.cloud_fallback.isChecked()}
                if self._pending_cloud_ok:
                    remembered["cloud_ok"] = True
                self._pending_cloud_ok = None
                self._write(lambda: self.writer.update_conversation_settings(cid, **remembered))
            self._answering = None
            self._streaming = None
            self.send_button.setText("Send")
            self.refresh_conversations()
            if self.conversation_id is not None and not self._closed:
                self._show_cost(self.store.conversation_messages(self.conversation_id))

        self.send_button.setText("Stop")
        self._answering = self._track(
            worker.start(self.model_pool, work, on_item, on_failed, on_finished)
        )

    def stop(self) -> None:
        """Stop the answer; what was said so far stays, in the window and in history."""
        if self._answering is not None:
            self._answering.stop()

    def regenerate(self) -> None:
        if self._answering is not None or self.conversation_id is None:
            return
        messages = self.store.conversation_messages(self.conversation_id)
        users = [m for m in messages if m.role == "user"]
        if users:
            self.resend(users[-1], users[-1].text)

    def _edit_dialog(self, message: StoredMessage) -> None:
        text, ok = QInputDialog.getMultiLineText(self, "Edit and resend", "Message:", message.text)
        if ok and text.strip():
            self.resend(message, text.strip())

    def resend(self, message: StoredMessage, text: str) -> None:
        """Replace a user turn and everything after it; the engine keeps the shared prefix."""
        entry = self.current_entry()
        if entry is None or self.conversation_id is None:
            return
        images = [self.store.image(a) for a in message.attachments]
        keep = [
            m for m in self.store.conversation_messages(self.conversation_id) if m.id < message.id
        ]
        self._clear_thread()
        for m in keep:
            self._add_message(m.role, m.text, self._stored_images(m))
        self._add_message("user", text, _part_images(images))
        self._ask(entry, text, images, GenParams(max_tokens=1024), truncate_from=message.id - 1)

    # -- plumbing ---------------------------------------------------------------------------

    def _track(self, job: worker.Job) -> worker.Job:
        self._jobs.add(job)
        job.finished.connect(lambda: self._jobs.discard(job))
        return job

    def _show_error(self, exc: BaseException) -> None:
        self.banner.show_message(describe_error(exc).text)

    def open_settings(self) -> None:
        from desktop.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.settings, [e.qualified_name for e in self.models], self)
        if dialog.exec():
            self.settings = dialog.saved
            from PySide6.QtWidgets import QApplication

            from desktop.ui import theme

            app = QApplication.instance()
            if isinstance(app, QApplication):
                theme.apply(app, self.settings.theme)
            self.refresh_models()

    def wait_idle(self, timeout_ms: int = 30000) -> None:
        self.model_pool.waitForDone(timeout_ms)
        self.io_pool.waitForDone(timeout_ms)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._closed = True
        for job in list(self._jobs):
            job.stop()
        self.wait_idle()
        self.host.close()
        if self._response_cache is not None:
            self._response_cache.close()
        self.store.close()
        if self._writer is not None:
            self._writer.close()
        super().closeEvent(event)


def _part_images(parts: list[ImagePart]) -> list[tuple[Any, str]]:
    return [(pixmap_from_part(p), p.label) for p in parts]


def _copy_view(view: MessageView) -> None:
    from PySide6.QtWidgets import QApplication

    QApplication.clipboard().setText(view.text)


def _usage_footer(model: str, backend: str, usage: Usage) -> str:
    bits = [model, "☁ cloud" if is_cloud(backend) else backend]
    if is_cloud(backend):
        cost = usage.extra.get("cost_usd")
        bits.append(f"${cost:.4f}" if cost is not None else "price unknown")
    if usage.tokens_per_s:
        bits.append(f"{usage.tokens_per_s:.1f} tokens/s")
    bits.append(f"{usage.cached_tokens} cached tokens")
    if usage.ttft_ms:
        bits.append(f"first token {usage.ttft_ms:.0f} ms")
    if usage.finish_reason == "cancelled":
        bits.append("stopped")
    return " · ".join(bits)


def _footer(m: StoredMessage) -> str:
    cloud = is_cloud(m.backend or "")
    bits = [m.model or "", "☁ cloud" if cloud else m.backend or ""]
    if cloud and m.cost_usd is not None:
        bits.append(f"${m.cost_usd:.4f}")
    if m.tokens_per_s:
        bits.append(f"{m.tokens_per_s:.1f} tokens/s")
    if m.cached_tokens is not None:
        bits.append(f"{m.cached_tokens} cached tokens")
    if m.status != "complete":
        bits.append("stopped early")
    return " · ".join(b for b in bits if b)
