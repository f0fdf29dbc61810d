"""Changes other processes make on disk, noticed while the window is open.

The command line edits the same files the window reads: ``sightline models
default``, ``models pull`` or ``import``, ``history delete``, or a ``chat``
running in a terminal. ``DiskWatcher`` watches config.toml, the models
folder and the history database (with its write-ahead log, where SQLite's
writes land first) and emits one typed signal per kind of change, debounced
so a burst of writes — a download, a streamed answer — is one refresh.

Files replaced atomically (config.toml is written to a temporary file and
renamed) or created later (the WAL) drop out of ``QFileSystemWatcher``, so
their folders are watched as well and the files are watched again after
every event.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

from desktop.paths import AppPaths, app_paths

DEBOUNCE_MS = 300


class DiskWatcher(QObject):
    settings_changed = Signal()
    """config.toml was written (by this process or another): reload settings."""
    models_changed = Signal()
    """Something was added to, removed from or renamed in the models folder."""
    history_changed = Signal()
    """The history database was written: conversations may have been added or deleted."""

    def __init__(
        self,
        parent: QObject | None = None,
        paths: AppPaths | None = None,
        debounce_ms: int = DEBOUNCE_MS,
    ) -> None:
        super().__init__(parent)
        self._paths = paths or app_paths()
        database = self._paths.database
        self._files = {
            self._paths.config_file: "settings",
            database: "history",
            database.with_name(database.name + "-wal"): "history",
        }
        self._folders = {
            self._paths.config_dir: "settings",
            self._paths.models_dir: "models",
            self._paths.data_dir: "history",
        }
        self._timers: dict[str, QTimer] = {}
        for kind, signal in (
            ("settings", self.settings_changed),
            ("models", self.models_changed),
            ("history", self.history_changed),
        ):
            timer = QTimer(self)
            timer.setSingleShot(True)
            timer.setInterval(debounce_ms)
            timer.timeout.connect(signal.emit)
            self._timers[kind] = timer
        self._watcher = QFileSystemWatcher(self)
        self._watcher.fileChanged.connect(self._changed)
        self._watcher.directoryChanged.connect(self._changed)
        self._watch()

    def _watch(self) -> None:
        """(Re)watch whatever exists now; adding a path already watched is harmless."""
        watched = set(self._watcher.files()) | set(self._watcher.directories())
        wanted = [str(p) for p in (*self._folders, *self._files) if p.exists()]
        missing = [p for p in wanted if p not in watched]
        if missing:
            self._watcher.addPaths(missing)

    def _kind(self, path: Path) -> str | None:
        if path in self._files:
            return self._files[path]
        if path in self._folders:
            return self._folders[path]
        return None

    def _changed(self, name: str) -> None:
        path = Path(name)
        kind = self._kind(path)
        if kind == "settings" and path == self._paths.config_dir:
            # A file in the config folder came or went: only config.toml matters.
            if not self._paths.config_file.exists():
                kind = None
        elif kind == "history" and path == self._paths.data_dir:
            kind = None if not self._paths.database.exists() else kind
        if kind is not None:
            self._timers[kind].start()  # restarting the timer is the debounce
        self._watch()
