"""Asking a model, turn by turn: send, regenerate, edit and resend, continue, stop.

The controller owns what a turn needs besides widgets: the conversation it
belongs to, the warm chat session, cloud consent and the answer cache. It
says what happens by signals, so the chat thread, the popup and a batch view
can each show a turn their own way. Model work runs on the model pool (one
thread), so the loaded model is only touched in order.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThreadPool, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from desktop.cloud_policy import is_cloud
from desktop.history.store import HistoryStore, StoredMessage
from desktop.model_choice import choice_for
from desktop.model_host import ModelHost
from desktop.settings import Settings
from desktop.ui import worker
from desktop.ui.history_writes import HistoryWrites
from models.backend import Backend, Event, GenParams, Progress, Usage
from models.conversation import ImagePart, Message
from models.entry import ModelEntry

if TYPE_CHECKING:  # loaded with the first question, not with the window
    from desktop.response_cache import CachingBackend, ResponseCache
    from desktop.session import ChatSession

REGENERATE_TEMPERATURE = 0.8
"""Regenerate samples anew: greedy decoding would only repeat the same words."""
CONTINUE_PROMPT = "Continue exactly where you stopped."


@dataclass(frozen=True, slots=True)
class Status:
    """What a turn is doing before its first word (loading, reading images, waiting)."""

    text: str


@dataclass(frozen=True, slots=True)
class TurnDone:
    entry: ModelEntry
    conversation_id: int | None
    created: bool
    """Whether this turn started the conversation."""
    failed: bool


class TurnController(QObject):
    status = Signal(str)
    chunk = Signal(str)
    usage = Signal(object)
    failed = Signal(object)
    finished = Signal(object)
    """A TurnDone."""
    busy_changed = Signal(bool)

    def __init__(
        self,
        settings: Settings,
        host: ModelHost,
        pool: QThreadPool,
        store: HistoryStore,
        writes: HistoryWrites,
        dialog_parent: QWidget | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.host = host
        self.pool = pool
        self.store = store
        self.writes = writes
        self.dialog_parent = dialog_parent
        self.conversation_id: int | None = None
        self.job: worker.StreamJob | None = None
        self.pending_cloud_ok: str | None = None
        self.pending_settings: dict[str, object] = {}
        self.consented: set[int] = set()
        """Conversations whose cloud consent is given (its write may still be queued)."""
        self._session: ChatSession | None = None
        self._caching: CachingBackend | None = None
        self._response_cache: ResponseCache | None = None

    @property
    def answering(self) -> bool:
        return self.job is not None

    # -- which conversation ------------------------------------------------------------

    def start_new(self) -> None:
        self.stop()
        self.conversation_id = None
        self._session = None
        self.pending_cloud_ok = None
        self.pending_settings = {}

    def open(self, cid: int) -> None:
        self.stop()
        self.conversation_id = cid
        self._session = None

    def forget_session(self) -> None:
        """The next turn rebuilds the session (a new system prompt takes effect)."""
        self._session = None

    def conversation_setting(self, key: str) -> object:
        if self.conversation_id is None:
            return self.pending_settings.get(key)
        return self.store.conversation_settings(self.conversation_id).get(key)

    def remember(self, **values: object) -> None:
        """Per-conversation choices; kept until the first turn creates the conversation."""
        cid = self.conversation_id
        if cid is None:
            self.pending_settings.update(values)
        else:
            self.writes.run(lambda w: w.update_conversation_settings(cid, **values))

    def params(self, regenerate: bool = False) -> GenParams:
        """Answer length and temperature: the conversation's own, else the Settings defaults."""
        tokens = self.conversation_setting("answer_tokens") or self.settings.answer_tokens
        chosen = self.conversation_setting("temperature")
        if chosen is None:
            chosen = self.settings.temperature
        temperature = float(chosen) if isinstance(chosen, int | float) else 0.0
        seed = 0
        if regenerate:
            seed = random.randrange(1, 2**31)
            if chosen is None:
                temperature = REGENERATE_TEMPERATURE
        return GenParams(max_tokens=int(str(tokens)), temperature=temperature, seed=seed)

    # -- consent -----------------------------------------------------------------------

    def consent(self, entry: ModelEntry, text: str, images: list[ImagePart]) -> bool:
        """Ask once per conversation, showing exactly what leaves the machine."""
        if not is_cloud(entry.backend):
            return True
        cid = self.conversation_id
        if cid in self.consented:
            return True
        if cid is not None and self.store.conversation_settings(cid).get("cloud_ok"):
            return True
        if cid is None and self.pending_cloud_ok == entry.qualified_name:
            return True
        sizes = ", ".join(f"{p.width}x{p.height}" for p in images) or "none"
        pages = sum(1 for p in images if " p." in p.label)
        earlier = len(self.store.conversation_messages(cid)) if cid is not None else 0
        answer = QMessageBox.question(
            self.dialog_parent,
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
            self.consented.add(cid)
            self.remember(cloud_ok=True)
        else:
            self.pending_cloud_ok = entry.qualified_name
        return True

    # -- asking ------------------------------------------------------------------------

    def _cached(self, backend: Backend) -> Backend:
        """One caching wrapper per loaded model, so the conversation's session survives."""
        from desktop.response_cache import CachingBackend, ResponseCache

        if self._caching is None or self._caching.inner is not backend:
            self._response_cache = self._response_cache or ResponseCache()
            self._caching = CachingBackend(backend, self._response_cache)
        return self._caching

    def ask(
        self,
        entry: ModelEntry,
        text: str,
        images: list[ImagePart],
        params: GenParams | None = None,
        truncate_from: int | None = None,
        preset: bool = False,
    ) -> None:
        """Stream one turn; the caller has shown the question and checked consent."""
        if self.job is not None:
            return
        from desktop.response_cache import cache_wanted
        from desktop.session import ChatSession, TurnResult

        params = params or self.params()
        choice = choice_for(entry)
        cid = self.conversation_id
        result = TurnResult()
        system = self.conversation_setting("system_prompt")
        writes, host, settings = self.writes, self.host, self.settings

        def work(cancel: threading.Event) -> Iterator[Event | Status]:
            if host.label != choice.label:
                yield Status(f"Loading {choice.label}…")
            backend = host.backend(choice, settings, cloud_allowed=True)
            if cache_wanted(
                preset=params.temperature == 0 and preset,
                temperature=params.temperature,
                opted_in=settings.cache_answers,
            ):
                backend = self._cached(backend)
            writer = writes.writer
            if truncate_from is not None and cid is not None:
                writer.truncate_after(cid, truncate_from)
                self._session = None
            session = self._session
            if session is None or session.backend is not backend:
                session = (
                    ChatSession.resume(writer, cid, backend, model_label=choice.label)
                    if cid is not None
                    else ChatSession(backend, model_label=choice.label, store=writer)
                )
                if isinstance(system, str) and system.strip():
                    session.messages.insert(0, Message.text("system", system.strip()))
                self._session = session
            count = len(images)
            yield Status(
                f"Reading {count} image{'s' if count != 1 else ''} and waiting for the model…"
                if count
                else "Waiting for the model…"
            )
            yield from session.ask(text, images, params, cancel, result)

        def on_item(item: Event | Status) -> None:
            if isinstance(item, Status):
                self.status.emit(item.text)
            elif isinstance(item, Progress):
                self.status.emit(f"{str(item).capitalize()}…")
            elif isinstance(item, Usage):
                self.usage.emit(item)
            else:
                self.chunk.emit(item)

        failed = [False]

        def on_failed(exc: BaseException) -> None:
            failed[0] = True
            self.failed.emit(exc)

        def on_finished() -> None:
            self.job = None
            created = result.conversation_id is not None and self.conversation_id is None
            if created and result.conversation_id is not None:
                self.conversation_id = result.conversation_id
                remembered = dict(self.pending_settings)
                if self.pending_cloud_ok:
                    remembered["cloud_ok"] = True
                    self.consented.add(result.conversation_id)
                self.pending_cloud_ok = None
                self.pending_settings = {}
                if preset and images:
                    new_id = result.conversation_id
                    title = images[0].label.rsplit("/", 1)[-1]
                    writes.run(lambda w: w.rename(new_id, title))
                if remembered:
                    self.remember(**remembered)
            self.busy_changed.emit(False)
            self.finished.emit(TurnDone(entry, self.conversation_id, created, failed[0]))
            writes.changed.emit()

        self.job = self.writes.jobs.track(
            worker.stream(self.pool, work, on_item, on_failed, on_finished)
        )
        self.busy_changed.emit(True)

    def stop(self) -> None:
        """Stop the answer; what was said so far stays, in the window and in history."""
        if self.job is not None:
            self.job.stop()

    def last_question(self) -> StoredMessage | None:
        if self.conversation_id is None:
            return None
        users = [
            m for m in self.store.conversation_messages(self.conversation_id) if m.role == "user"
        ]
        return users[-1] if users else None

    def history_before(self, message: StoredMessage) -> list[StoredMessage]:
        assert self.conversation_id is not None
        return [
            m for m in self.store.conversation_messages(self.conversation_id) if m.id < message.id
        ]

    def images_of(self, message: StoredMessage) -> list[ImagePart]:
        return [self.store.image(a) for a in message.attachments]

    def close(self) -> None:
        self.stop()
        if self._response_cache is not None:
            self._response_cache.close()
