"""Conversations' KV state kept after the user moves on, in RAM and on disk.

One llama.cpp context holds one conversation at a time. Going back to an
earlier conversation would mean encoding its images and evaluating its whole
history again; instead the state of a conversation the user leaves is copied
out (``llama_state_seq_get_data``) and kept here, newest first, within a byte
budget. Each state is also written to a folder in the background, so a
conversation reopened after a restart answers its follow-up without encoding
a page again. States are found by their content (the units they hold), so
they need no conversation ids; the folder is per model file, so a state is
never loaded into a model it was not made by. A file that cannot be read, or
that llama.cpp refuses, is removed and ignored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.llamacpp.sequence import ImageUnit, Unit, n_tokens, respelled_prefix

_log = logging.getLogger(__name__)
_MAGIC = b"SIGHTLINE-KV1\n"
_SUFFIX = ".kvstate"


@dataclass(slots=True)
class SavedState:
    units: list[Unit]
    n_past: int
    data: bytes | None
    """The native state; None while it lives only on disk (read when restored)."""
    path: Path | None = None
    size: int = 0


def model_fingerprint(*files: Path) -> str:
    """Identifies model files without reading gigabytes: size, mtime and both ends of each."""
    digest = hashlib.sha256()
    for file in files:
        stat = file.stat()
        digest.update(f"{file.name}:{stat.st_size}:{stat.st_mtime_ns}:".encode())
        with file.open("rb") as f:
            digest.update(f.read(1 << 20))
            f.seek(max(0, stat.st_size - (1 << 20)))
            digest.update(f.read(1 << 20))
    return digest.hexdigest()[:32]


def _encode_units(units: Sequence[Unit]) -> list[Any]:
    return [u if isinstance(u, int) else [u.digest, u.n_tokens, u.n_pos] for u in units]


def _decode_units(raw: Any) -> list[Unit]:
    if not isinstance(raw, list):
        raise ValueError("units are not a list")
    units: list[Unit] = []
    for item in raw:
        if isinstance(item, int):
            units.append(item)
        elif (
            isinstance(item, list)
            and len(item) == 3
            and isinstance(item[0], str)
            and all(isinstance(v, int) for v in item[1:])
        ):
            units.append(ImageUnit(item[0], item[1], item[2]))
        else:
            raise ValueError("a unit is neither a token nor an image")
    return units


def _read_header(path: Path) -> tuple[list[Unit], int, int]:
    """Units, n_past and the offset of the native state in a saved file."""
    with path.open("rb") as f:
        if f.read(len(_MAGIC)) != _MAGIC:
            raise ValueError("not a saved conversation state")
        (length,) = struct.unpack("<I", f.read(4))
        if length > path.stat().st_size:
            raise ValueError("header longer than the file")
        header = json.loads(f.read(length))
    if not isinstance(header, dict) or not isinstance(header.get("n_past"), int):
        raise ValueError("header has no n_past")
    return _decode_units(header.get("units")), header["n_past"], len(_MAGIC) + 4 + length


class SavedStates:
    """Recent conversations' states, newest last, bounded in RAM and on disk."""

    def __init__(self, ram_budget: int, folder: Path | None, disk_budget: int) -> None:
        self._ram_budget = ram_budget
        self._disk_budget = disk_budget
        self._folder = folder
        self._states: list[SavedState] = []
        self._lock = threading.Lock()
        self._writers: list[threading.Thread] = []
        if folder is not None:
            self._load_index(folder)

    def _load_index(self, folder: Path) -> None:
        try:
            files = sorted(folder.glob(f"*{_SUFFIX}"), key=lambda p: p.stat().st_mtime)
        except OSError:
            return
        for path in files:
            try:
                units, n_past, _ = _read_header(path)
                size = path.stat().st_size
            except (OSError, ValueError, struct.error, UnicodeDecodeError) as exc:
                _log.info("ignoring unreadable saved state %s: %s", path, exc)
                self.discard_file(path)
                continue
            self._states.append(SavedState(units, n_past, None, path, size))

    @property
    def count(self) -> int:
        return len(self._states)

    def best(
        self, prompt: Sequence[Unit], piece: Callable[[int], bytes], better_than: int
    ) -> SavedState | None:
        """The state sharing the most prompt tokens, if it shares more than ``better_than``."""
        best: SavedState | None = None
        best_tokens = better_than
        with self._lock:
            for state in self._states:
                _, reused = respelled_prefix(state.units, prompt, piece)
                shared = n_tokens(prompt[:reused])
                if shared > best_tokens:
                    best, best_tokens = state, shared
        return best

    def take(self, state: SavedState) -> bytes | None:
        """Remove ``state`` (it becomes the live one) and return its native bytes."""
        with self._lock:
            if state in self._states:
                self._states.remove(state)
        if state.data is not None:
            return state.data
        if state.path is None:
            return None
        try:
            _, _, offset = _read_header(state.path)
            with state.path.open("rb") as f:
                f.seek(offset)
                return f.read()
        except (OSError, ValueError, struct.error, UnicodeDecodeError) as exc:
            _log.info("saved state %s could not be read: %s", state.path, exc)
            self.discard_file(state.path)
            return None

    def add(self, units: Sequence[Unit], n_past: int, data: bytes) -> None:
        """Keep a state the user left; written to disk in the background."""
        state = SavedState(list(units), n_past, data, size=len(data))
        with self._lock:
            self._states = [s for s in self._states if s.units != state.units]
            self._states.append(state)
            self._trim_ram()
        if self._folder is not None:
            writer = threading.Thread(target=self._write, args=(state, data), daemon=True)
            writer.start()
            self._writers = [w for w in self._writers if w.is_alive()] + [writer]

    def _trim_ram(self) -> None:
        """Drop the oldest states' bytes beyond the RAM budget; a state on disk stays findable."""
        used = sum(len(s.data) for s in self._states if s.data is not None)
        for state in self._states:
            if used <= self._ram_budget:
                break
            if state.data is not None:
                used -= len(state.data)
                state.data = None
        self._states = [s for s in self._states if s.data is not None or s.path is not None]

    def _write(self, state: SavedState, data: bytes) -> None:
        assert self._folder is not None
        header = json.dumps({"units": _encode_units(state.units), "n_past": state.n_past}).encode()
        name = hashlib.sha256(header).hexdigest()[:32] + _SUFFIX
        path = self._folder / name
        tmp = path.with_suffix(".tmp")
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            with tmp.open("wb") as f:
                f.write(_MAGIC + struct.pack("<I", len(header)) + header)
                f.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            _log.warning("could not keep the conversation state on disk (%s)", exc)
            tmp.unlink(missing_ok=True)
            return
        with self._lock:
            state.path = path
            self._trim_disk()

    def _trim_disk(self) -> None:
        on_disk = [s for s in self._states if s.path is not None]
        used = sum(s.size for s in on_disk)
        for state in on_disk:
            if used <= self._disk_budget:
                break
            assert state.path is not None
            self.discard_file(state.path)
            used -= state.size
            state.path = None
        self._states = [s for s in self._states if s.data is not None or s.path is not None]

    def discard_file(self, path: Path) -> None:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            _log.info("could not remove %s: %s", path, exc)

    def flush(self) -> None:
        """Wait for background writes (before the process may exit)."""
        for writer in self._writers:
            writer.join()
        self._writers = []


def folder_size(folder: Path) -> int:
    """Bytes the saved states take (shown in Settings)."""
    try:
        return sum(p.stat().st_size for p in folder.rglob(f"*{_SUFFIX}"))
    except OSError:
        return 0


def clear_folder(folder: Path) -> int:
    """Remove every saved state below ``folder``; returns the bytes freed."""
    freed = 0
    for path in folder.rglob(f"*{_SUFFIX}") if folder.exists() else ():
        try:
            freed += path.stat().st_size
            path.unlink()
        except OSError as exc:
            _log.info("could not remove %s: %s", path, exc)
    return freed
