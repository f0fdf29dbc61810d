"""Answers kept for questions asked again, for every backend.

The key covers everything that decides an answer: backend, model, the
images' content hashes, the whole message history and the generation
parameters, so a hit is the answer that exact request got. Only finished
answers are kept, and only their text and token counts: nothing about keys
or accounts. On by default for presets run at temperature 0 (deterministic
questions, where asking again only costs time and money); opt-in otherwise.

The cache is a convenience: if its file cannot be read or written the turn
goes to the model as if there were no cache, and the reason goes to the log.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from desktop.disk_full import DiskFullError, is_disk_full
from desktop.paths import app_paths
from models.backend import Backend, Capabilities, Event, GenParams, Usage
from models.conversation import ImagePart, Message
from models.errors import StorageError

_log = logging.getLogger(__name__)
_KEY_VERSION = 1
_SCHEMA = """CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY, text TEXT NOT NULL, usage TEXT NOT NULL, created_at REAL NOT NULL)"""
_USAGE_FIELDS = {f.name for f in fields(Usage)}


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    text: str
    usage: Usage
    created_at: float


def key_for(backend: str, model: str, messages: Sequence[Message], params: GenParams) -> str:
    history = [
        {
            "role": m.role,
            "parts": [
                {"image": p.digest} if isinstance(p, ImagePart) else {"text": p.text}
                for p in m.parts
            ],
        }
        for m in messages
    ]
    payload = {
        "v": _KEY_VERSION,
        "backend": backend,
        "model": model,
        "messages": history,
        "params": asdict(params),
    }
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def cache_wanted(
    *, preset: bool, temperature: float, no_cache: bool = False, opted_in: bool = False
) -> bool:
    """Whether a turn may be answered from, and saved to, the cache."""
    if no_cache:
        return False
    return opted_in or (preset and temperature == 0)


def cache_file() -> Path:
    return app_paths().cache_dir / "responses.sqlite3"


class ResponseCache:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_file()
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            if is_disk_full(exc, self.path):
                raise DiskFullError.for_path(self.path) from exc
            raise StorageError(f"{self.path}: the response cache cannot be opened ({exc})") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def get(self, key: str) -> CachedAnswer | None:
        try:
            with self._lock:
                row = self._db.execute(
                    "SELECT text, usage, created_at FROM responses WHERE key = ?", (key,)
                ).fetchone()
        except sqlite3.Error as exc:
            _log.warning("response cache unreadable, asking the model: %s", exc)
            return None
        if row is None:
            return None
        stored: dict[str, Any] = json.loads(row[1])
        usage = Usage(**{k: v for k, v in stored.items() if k in _USAGE_FIELDS})
        return CachedAnswer(row[0], usage, row[2])

    def put(self, key: str, text: str, usage: Usage) -> bool:
        """Keep a finished answer; a cut, cancelled or failed one is not kept."""
        if usage.finish_reason not in ("stop", "length"):
            return False
        record = asdict(usage)
        record["error"] = None
        try:
            with self._lock:
                self._db.execute(
                    "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)",
                    (key, text, json.dumps(record), time.time()),
                )
        except sqlite3.Error as exc:
            if is_disk_full(exc, self.path):
                raise DiskFullError.for_path(self.path) from exc
            _log.warning("response cache not written: %s", exc)
            return False
        return True

    def clear(self) -> int:
        """Forget every answer; returns how many there were."""
        try:
            with self._lock:
                count = self._db.execute("DELETE FROM responses").rowcount
                self._db.execute("VACUUM")
        except sqlite3.Error as exc:
            raise StorageError(
                f"{self.path}: the response cache cannot be cleared ({exc})"
            ) from exc
        return int(count)


def replay(answer: CachedAnswer) -> Iterator[Event]:
    """A cached answer as a stream: all at once, marked as cached, costing nothing now."""
    usage = replace(answer.usage, from_cache=True, cost_usd=0.0, ttft_ms=0.0)
    if answer.text:
        yield answer.text
    yield usage


class CachingBackend:
    """Any backend, answering from the cache when the same request was answered before."""

    def __init__(self, inner: Backend, cache: ResponseCache) -> None:
        self.inner = inner
        self.cache = cache

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    def close(self) -> None:
        self.inner.close()

    def stream(
        self,
        messages: Sequence[Message],
        params: GenParams,
        cancel: threading.Event | None = None,
    ) -> Iterator[Event]:
        caps = self.inner.capabilities
        key = key_for(caps.backend, caps.name, messages, params)
        hit = self.cache.get(key)
        if hit is not None:
            yield from replay(hit)
            return
        chunks: list[str] = []
        for event in self.inner.stream(messages, params, cancel):
            if isinstance(event, Usage):
                self.cache.put(key, "".join(chunks), event)
            elif isinstance(event, str):
                chunks.append(event)
            yield event
