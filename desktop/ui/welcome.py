"""First run with no model: three ways to get one, none a dead end.

The panel needs only the settings and a thread pool; it says what it did
by signals (``model_installed``, ``ollama_host_chosen``) and the window
decides what follows.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from PySide6.QtCore import QThreadPool, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from desktop.messages import describe_error
from desktop.paths import app_paths
from desktop.settings import Settings, save_settings
from desktop.ui import worker
from desktop.ui.import_dialog import ask_model_files
from models.catalog import CatalogEntry, load_catalog
from models.entry import ModelEntry

if TYPE_CHECKING:
    from models.download import Progress  # httpx: loaded only when downloading


def _content_length(entry: CatalogEntry) -> int | None:
    """The download's size from the server, for catalog entries that do not list it.

    A HEAD request with the standard library: loading httpx for one header
    would cost the idle window about 20 MB.
    """
    from urllib.request import Request, urlopen

    total = 0
    for item in (entry.text, entry.mmproj):
        if item.size is not None:
            total += item.size
            continue
        with urlopen(Request(item.url, method="HEAD"), timeout=5.0) as response:
            length = response.headers.get("content-length")
        if length is None:
            return None
        total += int(length)
    return total


class WelcomePanel(QFrame):
    model_installed = Signal(str)
    ollama_host_chosen = Signal(str)

    def __init__(self, settings: Settings, pool: QThreadPool) -> None:
        super().__init__()
        self.setObjectName("welcome")
        self.settings = settings
        self.pool = pool
        self.jobs = worker.Jobs()
        self.job: worker.CallJob | None = None
        self.entry: CatalogEntry | None = None
        self.waiting_for: str | None = None
        """The Ollama host being probed, until the probe answers."""
        self.stopped = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 24, 32, 24)
        layout.setSpacing(12)
        title = QLabel("Welcome to Sightline")
        title.setObjectName("title")
        layout.addWidget(title)
        intro = QLabel(
            "Sightline runs a vision model on your own computer: nothing you show it leaves "
            "this machine. Get a model in one of three ways:"
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.recommended = QLabel()
        self.recommended.setWordWrap(True)
        layout.addWidget(self.recommended)
        row = QHBoxLayout()
        self.download_button = QPushButton("Download recommended model")
        self.download_button.clicked.connect(self.download)
        row.addWidget(self.download_button)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        row.addWidget(self.cancel_button)
        self.retry_button = QPushButton("Retry")
        self.retry_button.clicked.connect(self.download)
        self.retry_button.hide()
        row.addWidget(self.retry_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.progress = QProgressBar()
        self.progress.hide()
        layout.addWidget(self.progress)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        other = QHBoxLayout()
        import_button = QPushButton("Import GGUF + mmproj…")
        import_button.clicked.connect(self.import_files)
        other.addWidget(import_button)
        ollama_button = QPushButton("Use Ollama at…")
        ollama_button.clicked.connect(self.use_ollama)
        other.addWidget(ollama_button)
        other.addStretch(1)
        layout.addLayout(other)
        layout.addStretch(1)

    def refresh(self) -> None:
        from models.library import recommend
        from models.machine import disk_free, total_ram

        catalog = load_catalog(app_paths().config_dir)
        self.entry = recommend(catalog, total_ram(), disk_free(app_paths().models_dir))
        if self.entry is None:
            self.recommended.setText("No catalog model fits this machine's memory and disk.")
            self.download_button.setEnabled(False)
            return
        self.download_button.setEnabled(True)
        if self.entry.size_bytes:
            self._describe(self.entry.size_bytes)
            return
        self._describe(None, "checking the download size…")
        # Asked once the window is up: urllib's HTTP and TLS modules would otherwise load
        # on the I/O pool, holding the interpreter lock, while the window is being built.
        QTimer.singleShot(0, self, functools.partial(self._ask_size, self.entry))

    def _ask_size(self, entry: CatalogEntry) -> None:
        if self.stopped or entry is not self.entry:
            return
        self.jobs.track(
            worker.call(
                self.pool,
                lambda _c: _content_length(entry),
                lambda size: self._describe(size, "download size unknown until it starts"),
                lambda _exc: self._describe(None, "download size unknown (no connection?)"),
            )
        )

    def _describe(self, size: int | None, unknown: str = "") -> None:
        if self.entry is None:
            return
        said = f"about {size / 1e9:.1f} GB to download" if size else unknown
        self.recommended.setText(
            f"<b>Recommended for this computer:</b> {self.entry.title} — {said}, "
            f"needs about {self.entry.ram_gb:g} GB of memory, license "
            f"{self.entry.license}. Downloads resume if interrupted."
        )

    # -- downloading ------------------------------------------------------------------

    def download(self) -> None:
        if self.entry is None or self.job is not None:
            return
        from models.library import pull

        entry = self.entry
        models_dir = app_paths().models_dir

        def work(
            cancel: threading.Event, report: Callable[[tuple[str, Progress]], None]
        ) -> ModelEntry:
            return pull(
                entry, models_dir, progress=lambda label, p: report((label, p)), cancel=cancel
            )

        self.download_button.setEnabled(False)
        self.retry_button.hide()
        self.cancel_button.show()
        self.progress.show()
        self.progress.setRange(0, 0)
        self.status.setText(f"Downloading {entry.title}…")
        self.job = self.jobs.track(
            worker.call_reporting(
                self.pool, work, self._progress, self._installed, self._failed, self._ended
            )
        )

    def _progress(self, item: tuple[str, Progress]) -> None:
        label, p = item
        if p.total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * p.done / p.total))
        eta = f", about {int(p.eta_s)} s left" if p.eta_s is not None else ""
        self.status.setText(
            f"{label}: {p.done / 1e6:.0f} of {(p.total or 0) / 1e6:.0f} MB, "
            f"{p.rate_bps / 1e6:.1f} MB/s{eta}"
        )

    def _installed(self, entry: ModelEntry) -> None:
        self.status.setText(f"Installed {entry.qualified_name}.")
        self.model_installed.emit(entry.qualified_name)

    def _failed(self, exc: BaseException) -> None:
        """Said in words, with the server's name rather than a long file URL, and a Retry."""
        text = describe_error(exc).text
        if self.entry is not None:
            for item in (self.entry.text, self.entry.mmproj):
                text = text.replace(item.url, urlsplit(item.url).hostname or "the server")
        self.status.setText(text)
        self.retry_button.show()

    def _ended(self) -> None:
        self.job = None
        self.cancel_button.hide()
        self.progress.hide()
        self.download_button.setEnabled(True)

    def cancel(self) -> None:
        if self.job is not None:
            self.job.stop()
            self.status.setText("Stopping… the part already downloaded is kept for next time.")

    def stop(self) -> None:
        self.stopped = True
        self.jobs.stop_all()

    # -- importing and Ollama -----------------------------------------------------------

    def import_files(self) -> None:
        chosen = ask_model_files(self)
        if chosen is not None:
            self.import_pair(*chosen)

    def import_pair(
        self, text: Path, mmproj: Path | None, name: str | None = None
    ) -> worker.CallJob:
        from models.library import import_model

        models_dir = app_paths().models_dir
        self.status.setText(f"Importing {text.name}…")
        return self.jobs.track(
            worker.call(
                self.pool,
                lambda _c: import_model(text, mmproj, models_dir, name=name),
                self._installed,
                self._failed,
            )
        )

    def use_ollama(self) -> None:
        current = self.settings.effective_ollama_host()
        host, ok = QInputDialog.getText(self, "Use Ollama", "Ollama address:", text=current)
        if ok and host.strip():
            self.choose_ollama(host.strip())

    def choose_ollama(self, host: str) -> None:
        self.settings.ollama_host = host
        save_settings(self.settings)
        self.waiting_for = host
        self.status.setText(f"Looking for models on {host}…")
        self.ollama_host_chosen.emit(host)

    def show_problem(self, text: str) -> None:
        """A probe's failure, said where the user is looking."""
        self.status.setText(text)
        self.waiting_for = None

    def probe_finished(self, models_found: int) -> None:
        if self.waiting_for is not None:
            if not models_found:
                self.status.setText(f"{self.waiting_for} answered, but has no models to use.")
            self.waiting_for = None
