"""The chat window: it builds its parts and wires their signals, in this one place.

The parts (model picker, conversation list, attachments, turn controller,
thread view, welcome panel) each hold one job and talk by signals; nothing
here does slow work. Model work has its own single-thread pool, so the one
loaded model is only touched by one thread, in order; file reading and
probes use the I/O pool.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QThreadPool, QTimer
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QPixmap
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QWidget,
)

from desktop.history.store import HistoryStore, StoredMessage
from desktop.messages import answer_ending, describe_error
from desktop.model_choice import choice_for
from desktop.model_host import ModelHost
from desktop.presets import load_presets
from desktop.settings import Settings, load_settings
from desktop.ui import chrome, companions
from desktop.ui.attachments import Attachments
from desktop.ui.chat_panel import ChatPanel
from desktop.ui.conversation_list import ConversationList
from desktop.ui.history_writes import HistoryWrites
from desktop.ui.model_picker import ModelPicker
from desktop.ui.thread_view import ThreadView
from desktop.ui.turns import CONTINUE_PROMPT, TurnController, TurnDone
from desktop.ui.welcome import WelcomePanel
from desktop.ui.widgets import part_pixmaps
from desktop.ui.worker import model_thread
from models.backend import GenParams, Usage
from models.conversation import ImagePart
from models.entry import ModelEntry
from models.stream_relay import vision_refusal

if TYPE_CHECKING:  # these load with their first use, not with the window
    from desktop.ui.batch_view import BatchView
    from desktop.ui.find_in_picture import FindInPicture

MIN_WIDTH = 640


class MainWindow(QMainWindow):
    def __init__(
        self,
        settings: Settings | None = None,
        host: ModelHost | None = None,
        model_pool: QThreadPool | None = None,
    ) -> None:
        """``host``: one already loading a model (a right-click's answer started before us);
        ``model_pool``: the one thread that touches it, when that answer is relayed on it."""
        super().__init__()
        self.settings = settings or load_settings()
        self.setWindowTitle("Sightline")
        self.setAcceptDrops(True)
        self.setMinimumSize(MIN_WIDTH, 480)
        self.closed = False
        self.store = HistoryStore.open()
        self.model_pool = model_pool if model_pool is not None else model_thread(self)
        self.io_pool = QThreadPool(self)
        self.io_pool.setMaxThreadCount(2)
        self.host = host if host is not None else ModelHost()
        self.presets = load_presets()
        self.writes = HistoryWrites(self.model_pool)
        self.batch_views: list[BatchView] = []
        """Open "Describe each" views, kept alive while shown."""
        self.settings_panels: list[Callable[[], tuple[str, QWidget]]] = []
        """Extra sections for the Settings dialog, made afresh each time it opens."""

        # The parts.
        self.picker = ModelPicker(self.settings, self.io_pool)
        self.sidebar = ConversationList(self.store, self.writes)
        self.attachments = Attachments(self.io_pool, self.max_image_side)
        self.thread_view = ThreadView()
        self.turns = TurnController(
            self.settings, self.host, self.model_pool, self.store, self.writes, self
        )
        self.welcome = WelcomePanel(self.settings, self.io_pool)
        self.chat = ChatPanel(
            self.attachments, self.presets, self.turns, self.send, self.statusBar()
        )
        self.banner = self.chat.banner
        self.composer = self.chat.composer
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.thread_view)
        self.chat.set_centre(self.stack)
        self.splitter = QSplitter()
        self.splitter.setChildrenCollapsible(True)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.chat)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([260, 840])
        self.setCentralWidget(self.splitter)
        self.model_status = QLabel()
        self.model_status.setObjectName("modelStatus")
        self.statusBar().addPermanentWidget(self.model_status)
        self.actions_ = chrome.build(self)
        self._wire()
        self.disk_watch = companions.attach(self)
        self.window_state = chrome.WindowState()
        self.window_state.restore(self)

        self.picker.list_installed()
        self.sidebar.refresh()
        self.show_welcome_if_needed()
        # Servers and the keychain are asked once the window is up: their libraries
        # (the keyring's backends above all) would otherwise load while it is being built.
        QTimer.singleShot(0, self._probe_models)

    def window(self) -> MainWindow:
        """Itself: a popup asks its ``WindowSource`` for the window, and this one is built."""
        return self

    # -- the wiring, in one place ----------------------------------------------------

    def _wire(self) -> None:
        picker, turns, thread, chat = self.picker, self.turns, self.thread_view, self.chat
        picker.picked.connect(self._model_picked)
        picker.models_changed.connect(self._models_changed)
        picker.probe_failed.connect(self.welcome.show_problem)
        picker.failed.connect(self.show_error)
        picker.installed.connect(lambda name: self.banner.clear("no-model"))
        picker.cloud_fallback.toggled.connect(lambda on: turns.remember(cloud_fallback=on))
        self.sidebar.opened.connect(self.open_conversation)
        self.sidebar.deleted.connect(self._conversation_deleted)
        self.sidebar.exported.connect(
            lambda path: self.banner.show_message(f"Exported to {path}", "success", "export")
        )
        self.writes.failed.connect(self.show_error)
        self.attachments.notice.connect(lambda text: self.banner.show_message(text, "notice"))
        self.attachments.failed.connect(self.show_error)
        self.attachments.changed.connect(self._attachments_changed)
        self.welcome.model_installed.connect(self._model_installed)
        self.welcome.ollama_host_chosen.connect(lambda _host: picker.refresh())
        chat.send_requested.connect(self.send_or_stop)
        turns.busy_changed.connect(chat.set_busy)
        thread.show_turns(turns)
        turns.status.connect(self.statusBar().showMessage)
        turns.chunk.connect(lambda _text: self.statusBar().clearMessage())
        turns.usage.connect(self._usage)
        turns.failed.connect(self.show_error)
        turns.finished.connect(self._turn_finished)
        thread.edit_requested.connect(self.ask_edit)
        thread.regenerate_requested.connect(self.regenerate)
        thread.continue_requested.connect(self.continue_answer)
        thread.image_requested.connect(self.view_image)

    # -- models ------------------------------------------------------------------------

    @property
    def models(self) -> list[ModelEntry]:
        return self.picker.models

    def current_entry(self) -> ModelEntry | None:
        return self.picker.current_entry()

    def max_image_side(self) -> int:
        entry = self.current_entry()
        if entry is not None:
            return choice_for(entry).max_image_side(self.settings)
        return self.settings.max_image_side

    def _model_picked(self) -> None:
        entry = self.current_entry()
        self._show_model_status()
        has_images = bool(self.attachments.pending_images())
        refusal = (
            vision_refusal(entry.qualified_name, entry.backend, entry.vision, has_images)
            if entry is not None
            else None
        )
        if refusal is not None:
            self.banner.show_message(refusal, "notice", "text-only")
        else:
            self.banner.clear("text-only")

    def _models_changed(self) -> None:
        if self.models:
            self.banner.clear("no-model")
        self.show_welcome_if_needed()
        self._show_model_status()
        if not self.picker.probing:
            self.welcome.probe_finished(len(self.models))

    def _probe_models(self) -> None:
        if not self.closed:
            self.picker.probe()

    def _show_model_status(self) -> None:
        entry = self.current_entry()
        if entry is None:
            text = "Looking for models…" if self.picker.probing else "No model"
        else:
            where = "on this computer" if entry.backend == "embedded" else f"via {entry.backend}"
            loaded = " · loaded" if self.host.label == entry.qualified_name else ""
            text = f"{entry.qualified_name} {where}{loaded}"
        self.model_status.setText(text)

    def _model_installed(self, _name: str) -> None:
        self.picker.refresh()
        self.banner.clear("no-model")

    def show_welcome_if_needed(self) -> None:
        if self.models:
            if self.stack.currentWidget() is self.welcome:
                self.stack.setCurrentWidget(self.thread_view)
        elif self.stack.currentWidget() is not self.welcome or not self.welcome.recommended.text():
            self.welcome.refresh()
            self.stack.setCurrentWidget(self.welcome)

    # -- conversations -------------------------------------------------------------------

    def new_chat(self) -> None:
        self.turns.start_new()
        self.picker.cloud_fallback.blockSignals(True)
        self.picker.cloud_fallback.setChecked(False)
        self.picker.cloud_fallback.blockSignals(False)
        self.thread_view.clear()
        self.sidebar.set_current(None)
        self.banner.dismiss()
        self.statusBar().clearMessage()
        self.composer.setFocus()

    def open_conversation(self, cid: int) -> None:
        self.turns.open(cid)
        self.picker.cloud_fallback.blockSignals(True)
        fallback = self.store.conversation_settings(cid).get("cloud_fallback")
        self.picker.cloud_fallback.setChecked(bool(fallback))
        self.picker.cloud_fallback.blockSignals(False)
        self.sidebar.set_current(cid)
        self.banner.dismiss()
        messages = self.store.conversation_messages(cid)
        self.thread_view.show_history(self.store, messages)
        self.chat.show_cost(messages)
        self.stack.setCurrentWidget(self.thread_view)

    def _conversation_deleted(self, cid: int) -> None:
        if cid == self.turns.conversation_id:
            self.new_chat()

    # -- asking --------------------------------------------------------------------------

    def send_or_stop(self) -> None:
        if self.turns.answering:
            self.turns.stop()
        else:
            self.send()

    def send(self, text: str | None = None, preset: bool = False, **params: Any) -> None:
        """Send the composer's text (or ``text``) with the pending attachments.

        ``params`` override the conversation's GenParams (a preset's length, JSON fields).
        """
        if self.turns.answering:
            return
        text = text if text is not None else self.composer.toPlainText().strip()
        images = self.attachments.pending_images()
        if not text and not images:
            return
        if self.attachments.busy():
            self.banner.show_message(
                "Still reading the attached files — send again in a moment.", "notice"
            )
            return
        entry = self._answering_entry(bool(images))
        if entry is None:
            self.banner.show_message(
                "No model yet — download one, import a GGUF, or use Ollama.", "error", "no-model"
            )
            self.show_welcome_if_needed()
            return
        refusal = vision_refusal(entry.qualified_name, entry.backend, entry.vision, bool(images))
        if refusal is not None:
            self.banner.show_message(refusal, "error", "text-only")
            return
        if not self.turns.consent(entry, text, images):
            return
        self.banner.dismiss()
        self.composer.clear()
        self.attachments.clear()
        self.stack.setCurrentWidget(self.thread_view)
        self.thread_view.add_message("user", text or "(image)", part_pixmaps(images))
        gen = replace(self.turns.params(), **params) if params else self.turns.params()
        self._start_answer(entry, text, images, gen, preset=preset)

    def _start_answer(
        self,
        entry: ModelEntry,
        text: str,
        images: list[ImagePart],
        gen: GenParams,
        truncate_from: int | None = None,
        preset: bool = False,
    ) -> None:
        self.thread_view.start_answer(entry)
        self.turns.ask(entry, text, images, gen, truncate_from=truncate_from, preset=preset)

    def _answering_entry(self, has_images: bool) -> ModelEntry | None:
        """The picked model, or with the cloud fallback on, a cloud one when it cannot answer."""
        entry = self.current_entry()
        can_answer = entry is not None and (entry.vision or not has_images)
        if can_answer or not self.picker.cloud_fallback.isChecked():
            return entry
        return self.picker.cloud_vision_entry() or entry

    def regenerate(self) -> None:
        question = self.turns.last_question()
        if question is not None and not self.turns.answering:
            self.resend(question, question.text, regenerate=True)

    def continue_answer(self) -> None:
        self.send(CONTINUE_PROMPT)

    def ask_edit(self, message: StoredMessage) -> None:
        text, ok = chrome.edit_dialog(self, message.text)
        if ok and text.strip():
            self.resend(message, text.strip())

    def resend(self, message: StoredMessage, text: str, regenerate: bool = False) -> None:
        """Replace a user turn and everything after it; the engine keeps the shared prefix."""
        entry = self.current_entry()
        if entry is None or self.turns.conversation_id is None or self.turns.answering:
            return
        images = self.turns.images_of(message)
        keep = self.turns.history_before(message)
        self.thread_view.show_history(self.store, keep)
        self.thread_view.add_message("user", text, part_pixmaps(images))
        params = self.turns.params(regenerate=regenerate)
        self._start_answer(entry, text, images, params, truncate_from=message.id - 1)

    def stop(self) -> None:
        self.turns.stop()

    def _usage(self, usage: Usage) -> None:
        if usage.from_cache:
            self.banner.show_message("Answered from the cache.", "notice")
        if usage.finish_reason == "error" and usage.error:
            self.banner.show_message(f"The answer {answer_ending('error', usage.error)}")

    def _turn_finished(self, _done: TurnDone) -> None:
        self.statusBar().clearMessage()
        self._show_model_status()
        cid = self.turns.conversation_id
        if cid is None or self.closed:
            return
        self.sidebar.current = cid
        messages = self.store.conversation_messages(cid)
        self.thread_view.bind(messages)
        self.chat.show_cost(messages)

    # -- plumbing --------------------------------------------------------------------------

    def show_error(self, exc: BaseException) -> None:
        self.banner.show_message(describe_error(exc).text, "error")

    @functools.cached_property
    def finder(self) -> FindInPicture:
        """Made on first use: the grounding code and its drawing are no part of the start."""
        from desktop.ui.find_in_picture import FindInPicture

        return FindInPicture(self)

    def view_image(self, pixmap: QPixmap, title: str) -> None:
        from desktop.ui.image_viewer import ImageViewer, original_pixmap

        ImageViewer(original_pixmap(pixmap, title), Path(title).name or title, self).show()

    def _attachments_changed(self) -> None:
        self._model_picked()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        if self.attachments.take_mime(event.mimeData()):
            event.acceptProposedAction()

    def attach_files(self, files: list[str]) -> None:
        self.attachments.attach_files(files)

    def apply_settings(self, settings: Settings) -> None:
        for field in fields(settings):  # one shared object: every part sees the change
            setattr(self.settings, field.name, getattr(settings, field.name))
        self.picker.refresh()

    def wait_idle(self, timeout_ms: int = 30000) -> None:
        self.model_pool.waitForDone(timeout_ms)
        self.io_pool.waitForDone(timeout_ms)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.closed and not chrome.confirm_close(self):
            event.ignore()
            return
        self.window_state.save(self)
        self.closed = True
        for jobs in (self.writes.jobs, self.picker.jobs, self.attachments.jobs):
            jobs.stop_all()
        self.turns.close()
        for view in self.batch_views:
            view.stop()  # after the answers in progress; the model pool then drains
        self.welcome.stop()
        self.wait_idle()
        self.host.close()
        self.store.close()
        self.writes.close()
        super().closeEvent(event)
