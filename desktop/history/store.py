"""The history database: nothing said is ever lost.

A user's turn is committed before the model starts; the answer is written
as it streams (at least once a second) and finished with its usage. WAL with
``synchronous=NORMAL`` keeps every committed transaction through a killed
process (only a power cut can drop the last second), and answers left
``streaming`` by a crash are marked ``partial`` the next time the database
opens — only those whose writing process is gone (``writer_lock``), so
opening the history elsewhere never cuts off a live answer. Images are stored
once, by content hash, however often they are sent.
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import TracebackType
from typing import Any

from desktop.disk_full import DiskFullError, is_disk_full
from desktop.history.migrations import migrate
from desktop.history.writer_lock import WriterLock, sweep, writer_alive
from desktop.paths import app_paths
from models.backend import Usage
from models.conversation import ImagePart, Message, TextPart
from models.errors import InputError, StorageError

FLUSH_INTERVAL_S = 1.0
_TITLE_WORDS = 8
_WORD = re.compile(r"\w+", re.UNICODE)


def _storage_error(exc: sqlite3.Error | OSError, path: Path) -> StorageError:
    if is_disk_full(exc, path):
        return DiskFullError.for_path(path)
    if isinstance(exc, OSError):
        return StorageError(f"history could not be opened: {exc.strerror or exc} ({path})")
    text = str(exc).lower()
    if "readonly" in text or "read-only" in text:
        reason = "the database is read-only"
    elif "locked" in text or "busy" in text:
        reason = "the database is locked by another program"
    elif "malformed" in text or "not a database" in text:
        reason = "the database file is damaged"
    else:
        reason = str(exc)
    return StorageError(f"history could not be saved: {reason} ({path})")


@dataclass(frozen=True, slots=True)
class Attachment:
    digest: str
    label: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: int
    conversation_id: int
    role: str
    text: str
    status: str
    error: str | None
    model: str | None
    backend: str | None
    prompt_tokens: int | None
    cached_tokens: int | None
    completion_tokens: int | None
    ttft_ms: float | None
    tokens_per_s: float | None
    finish_reason: str | None
    cost_usd: float | None
    created_at: float
    attachments: tuple[Attachment, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "role": self.role,
            "text": self.text,
            "status": self.status,
            "error": self.error,
            "model": self.model,
            "backend": self.backend,
            "prompt_tokens": self.prompt_tokens,
            "cached_tokens": self.cached_tokens,
            "completion_tokens": self.completion_tokens,
            "ttft_ms": self.ttft_ms,
            "tokens_per_s": self.tokens_per_s,
            "finish_reason": self.finish_reason,
            "cost_usd": self.cost_usd,
            "created_at": self.created_at,
            "attachments": [
                {"digest": a.digest, "label": a.label, "width": a.width, "height": a.height}
                for a in self.attachments
            ],
        }


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    id: int
    title: str
    model: str | None
    created_at: float
    updated_at: float
    message_count: int
    first_image: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "model": self.model,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "message_count": self.message_count,
            "first_image": self.first_image,
        }


@dataclass(frozen=True, slots=True)
class SearchHit:
    conversation_id: int
    message_id: int
    title: str
    role: str
    snippet: str

    def to_json(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "message_id": self.message_id,
            "title": self.title,
            "role": self.role,
            "snippet": self.snippet,
        }


def fts_query(query: str) -> str:
    """A user's words as an FTS5 query that cannot be a syntax error: each a quoted prefix."""
    words = _WORD.findall(query)
    return " ".join(f'"{w}"*' for w in words)


def _title_from(text: str) -> str:
    words = text.split()
    title = " ".join(words[:_TITLE_WORDS])
    return title + ("…" if len(words) > _TITLE_WORDS else "")


class AnswerWriter:
    """Saves a streaming answer: each append is cheap, a commit happens at most once a second."""

    def __init__(
        self, store: HistoryStore, message_id: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._store = store
        self.message_id = message_id
        self._clock = clock
        self._chunks: list[str] = []
        self._last_flush: float | None = None
        self._dirty = False
        self.finished = False

    @property
    def text(self) -> str:
        return "".join(self._chunks)

    def append(self, chunk: str) -> None:
        self._chunks.append(chunk)
        self._dirty = True
        now = self._clock()
        if self._last_flush is None or now - self._last_flush >= FLUSH_INTERVAL_S:
            self.flush()

    def flush(self) -> None:
        if not self._dirty:
            return
        self._store._execute(
            "UPDATE messages SET text = ? WHERE id = ?", (self.text, self.message_id)
        )
        self._last_flush = self._clock()
        self._dirty = False

    def finish(self, usage: Usage) -> None:
        status = "complete" if usage.finish_reason in ("stop", "length") else "partial"
        self._store._execute(
            """UPDATE messages SET text = ?, status = ?, error = ?, prompt_tokens = ?,
                   cached_tokens = ?, completion_tokens = ?, ttft_ms = ?, tokens_per_s = ?,
                   finish_reason = ?
               WHERE id = ?""",
            (
                self.text,
                status,
                usage.error,
                usage.prompt_tokens,
                usage.cached_tokens,
                usage.completion_tokens,
                usage.ttft_ms,
                usage.tokens_per_s,
                usage.finish_reason,
                self.message_id,
            ),
        )
        self.finished = True

    def set_cost(self, cost_usd: float) -> None:
        self._store._execute(
            "UPDATE messages SET cost_usd = ? WHERE id = ?", (cost_usd, self.message_id)
        )

    def __enter__(self) -> AnswerWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.finished:
            cancelled = exc_type is None or issubclass(exc_type, KeyboardInterrupt)
            self.finish(
                Usage(
                    finish_reason="cancelled" if cancelled else "error",
                    error=str(exc) if exc else None,
                )
            )


_WAL_WAIT_S = 10.0


def _enable_wal(db: sqlite3.Connection) -> None:
    """Switch to WAL, waiting for other processes doing the same on a fresh database.

    Changing the journal mode answers "locked" at once, without the busy
    timeout, while another connection holds the database; processes started
    together on a fresh home would fail here otherwise.
    """
    deadline = time.monotonic() + _WAL_WAIT_S
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _writers_dir(database: Path) -> Path:
    return database.with_name(database.name + ".writers")


def _mark_interrupted(db: sqlite3.Connection, database: Path) -> None:
    """Answers left ``streaming`` by a writer that is gone become ``partial``."""
    folder = _writers_dir(database)
    rows = db.execute("SELECT DISTINCT writer FROM messages WHERE status = 'streaming'")
    for (writer,) in rows.fetchall():
        if not writer_alive(folder, writer):
            db.execute(
                "UPDATE messages SET status = 'partial', error = coalesce(error, 'interrupted') "
                "WHERE status = 'streaming' AND writer IS ?",
                (writer,),
            )
    sweep(folder)


@dataclass
class HistoryStore:
    path: Path
    db: sqlite3.Connection = field(repr=False)
    _writer: WriterLock | None = field(default=None, init=False, repr=False)

    @classmethod
    def open(cls, path: Path | None = None) -> HistoryStore:
        path = path or app_paths().database
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
            _enable_wal(db)
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA secure_delete = ON")  # a deleted conversation is overwritten
            db.execute("PRAGMA busy_timeout = 10000")
            migrate(db)
            _mark_interrupted(db, path)
        except sqlite3.Error as exc:
            raise _storage_error(exc, path) from exc
        except OSError as exc:
            raise _storage_error(exc, path) from exc
        return cls(path, db)

    def close(self) -> None:
        self.db.close()
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def _writer_token(self) -> str:
        if self._writer is None:
            try:
                self._writer = WriterLock(_writers_dir(self.path))
            except OSError as exc:
                raise _storage_error(exc, self.path) from exc
        return self._writer.token

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self.db.execute(sql, params)
        except sqlite3.Error as exc:
            raise _storage_error(exc, self.path) from exc

    def _transaction(self, work: Callable[[], int]) -> int:
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                result = work()
            except BaseException:
                if self.db.in_transaction:  # SQLite already rolled back after SQLITE_FULL
                    self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
            return result
        except sqlite3.Error as exc:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise _storage_error(exc, self.path) from exc

    # -- writing --------------------------------------------------------------

    def create_conversation(self, title: str | None = None, model: str | None = None) -> int:
        now = time.time()
        cur = self._execute(
            "INSERT INTO conversations (title, model, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (title or "", model, now, now),
        )
        return int(cur.lastrowid or 0)

    def _require(self, conversation_id: int) -> None:
        row = self._execute(
            "SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        if row is None:
            raise InputError(f"no conversation with id {conversation_id}")

    def add_user_message(self, conversation_id: int, text: str, images: Sequence[ImagePart]) -> int:
        """Committed before the model starts, so the question survives whatever happens next."""
        from models.image_codec import encode_png  # loads Pillow on the first image, not at start

        encoded = [(img, encode_png(img)) for img in images]

        def work() -> int:
            now = time.time()
            cur = self.db.execute(
                "INSERT INTO messages (conversation_id, role, text, created_at) "
                "VALUES (?, 'user', ?, ?)",
                (conversation_id, text, now),
            )
            message_id = int(cur.lastrowid or 0)
            for position, (img, png) in enumerate(encoded):
                self.db.execute(
                    "INSERT OR IGNORE INTO blobs (digest, png, width, height) VALUES (?, ?, ?, ?)",
                    (img.digest, png, img.width, img.height),
                )
                self.db.execute(
                    "INSERT INTO attachments (message_id, position, digest, label) "
                    "VALUES (?, ?, ?, ?)",
                    (message_id, position, img.digest, img.label),
                )
            self.db.execute(
                "UPDATE conversations SET updated_at = ?, "
                "title = CASE WHEN title = '' THEN ? ELSE title END WHERE id = ?",
                (now, _title_from(text) or (images[0].label if images else ""), conversation_id),
            )
            return message_id

        self._require(conversation_id)
        return self._transaction(work)

    def start_answer(
        self,
        conversation_id: int,
        model: str,
        backend: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> AnswerWriter:
        now = time.time()
        writer = self._writer_token()

        def work() -> int:
            cur = self.db.execute(
                "INSERT INTO messages "
                "(conversation_id, role, status, model, backend, created_at, writer) "
                "VALUES (?, 'assistant', 'streaming', ?, ?, ?, ?)",
                (conversation_id, model, backend, now, writer),
            )
            self.db.execute(
                "UPDATE conversations SET updated_at = ?, model = ? WHERE id = ?",
                (now, model, conversation_id),
            )
            return int(cur.lastrowid or 0)

        return AnswerWriter(self, self._transaction(work), clock)

    def rename(self, conversation_id: int, title: str) -> None:
        self._require(conversation_id)
        self._execute("UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id))

    def delete_conversation(self, conversation_id: int) -> None:
        """Removes the conversation and any image no other message still uses."""
        self._require(conversation_id)

        def work() -> int:
            digests = [
                r[0]
                for r in self.db.execute(
                    "SELECT DISTINCT a.digest FROM attachments a JOIN messages m "
                    "ON m.id = a.message_id WHERE m.conversation_id = ?",
                    (conversation_id,),
                )
            ]
            self.db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
            for digest in digests:
                self.db.execute(
                    "DELETE FROM blobs WHERE digest = ? AND NOT EXISTS "
                    "(SELECT 1 FROM attachments WHERE digest = ?)",
                    (digest, digest),
                )
            return len(digests)

        self._transaction(work)

    def conversation_settings(self, conversation_id: int) -> dict[str, Any]:
        """Per-conversation choices (cloud consent, cloud fallback), remembered with it."""
        row = self._execute(
            "SELECT settings FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        if row is None:
            raise InputError(f"no conversation with id {conversation_id}")
        try:
            value = json.loads(row[0] or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def update_conversation_settings(self, conversation_id: int, **values: Any) -> None:
        merged = {**self.conversation_settings(conversation_id), **values}
        self._execute(
            "UPDATE conversations SET settings = ? WHERE id = ?",
            (json.dumps(merged), conversation_id),
        )

    def truncate_after(self, conversation_id: int, message_id: int) -> None:
        """Drop the messages after ``message_id`` (edit and resend, regenerate)."""
        self._execute(
            "DELETE FROM messages WHERE conversation_id = ? AND id > ?",
            (conversation_id, message_id),
        )

    # -- reading --------------------------------------------------------------

    def conversation_messages(self, conversation_id: int) -> list[StoredMessage]:
        self._require(conversation_id)
        rows = self._execute(
            "SELECT id, conversation_id, role, text, status, error, model, backend, "
            "prompt_tokens, cached_tokens, completion_tokens, ttft_ms, tokens_per_s, "
            "finish_reason, cost_usd, created_at FROM messages WHERE conversation_id = ? "
            "ORDER BY id",
            (conversation_id,),
        ).fetchall()
        attachments: dict[int, list[Attachment]] = {}
        for message_id, digest, label, width, height in self._execute(
            "SELECT a.message_id, a.digest, a.label, b.width, b.height FROM attachments a "
            "JOIN blobs b ON b.digest = a.digest JOIN messages m ON m.id = a.message_id "
            "WHERE m.conversation_id = ? ORDER BY a.message_id, a.position",
            (conversation_id,),
        ):
            attachments.setdefault(message_id, []).append(Attachment(digest, label, width, height))
        names = [f.name for f in fields(StoredMessage) if f.name != "attachments"]
        return [
            StoredMessage(
                **dict(zip(names, row, strict=True)),
                attachments=tuple(attachments.get(row[0], ())),
            )
            for row in rows
        ]

    def blob_png(self, digest: str) -> bytes:
        row = self._execute("SELECT png FROM blobs WHERE digest = ?", (digest,)).fetchone()
        if row is None:
            raise InputError(f"no stored image {digest[:12]}")
        return bytes(row[0])

    def image(self, attachment: Attachment) -> ImagePart:
        from PIL import Image

        with Image.open(io.BytesIO(self.blob_png(attachment.digest))) as img:
            rgb = img.convert("RGB")
            return ImagePart.from_rgb(rgb.width, rgb.height, rgb.tobytes(), attachment.label)

    def load_for_model(self, conversation_id: int) -> list[Message]:
        """The conversation as a backend needs it; turns that got no answer are left out."""
        stored = self.conversation_messages(conversation_id)
        messages: list[Message] = []
        for i, m in enumerate(stored):
            following = stored[i + 1] if i + 1 < len(stored) else None
            if m.role == "assistant" and not m.text:
                continue
            if (
                m.role == "user"
                and following
                and following.role == "assistant"
                and not following.text
            ):
                continue
            images = tuple(self.image(a) for a in m.attachments)
            messages.append(Message(m.role, (*images, TextPart(m.text))))  # type: ignore[arg-type]
        return messages

    def title(self, conversation_id: int) -> str:
        self._require(conversation_id)
        row = self._execute(
            "SELECT title FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        return str(row[0])

    def list_conversations(self, limit: int = 100, offset: int = 0) -> list[ConversationSummary]:
        rows = self._execute(
            """SELECT c.id, c.title, c.model, c.created_at, c.updated_at,
                      (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id),
                      (SELECT a.digest FROM messages m JOIN attachments a ON a.message_id = m.id
                        WHERE m.conversation_id = c.id ORDER BY m.id, a.position LIMIT 1)
               FROM conversations c ORDER BY c.updated_at DESC, c.id DESC LIMIT ? OFFSET ?""",
            (limit, offset),
        ).fetchall()
        return [ConversationSummary(*row) for row in rows]

    def search(self, query: str, limit: int = 50) -> list[SearchHit]:
        match = fts_query(query)
        if not match:
            return []
        rows = self._execute(
            """SELECT m.conversation_id, m.id, c.title, m.role,
                      snippet(messages_fts, 0, '[', ']', '…', 12)
               FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
               JOIN conversations c ON c.id = m.conversation_id
               WHERE messages_fts MATCH ? ORDER BY bm25(messages_fts) LIMIT ?""",
            (match, limit),
        ).fetchall()
        return [SearchHit(*row) for row in rows]

    def conversation_json(self, conversation_id: int) -> dict[str, Any]:
        summary = self._execute(
            "SELECT id, title, model, created_at, updated_at FROM conversations WHERE id = ?",
            (conversation_id,),
        ).fetchone()
        if summary is None:
            raise InputError(f"no conversation with id {conversation_id}")
        keys = ("id", "title", "model", "created_at", "updated_at")
        data: dict[str, Any] = dict(zip(keys, summary, strict=True))
        data["messages"] = [m.to_json() for m in self.conversation_messages(conversation_id)]
        return data
