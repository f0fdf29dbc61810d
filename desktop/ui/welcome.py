"""First run with no model: three ways to get one, none a dead end."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from desktop.paths import app_paths
from desktop.settings import save_settings
from desktop.ui import worker
from models.catalog import CatalogEntry, load_catalog
from models.download import disk_free

if TYPE_CHECKING:
    from desktop.ui.main_window import MainWindow


def _machine_ram() -> int:
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 * 10**9


class WelcomePanel(QFrame):
    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.setObjectName("welcome")
        self.window_ = window
        self.job: worker.Job | None = None
        self.entry: CatalogEntry | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 24, 32, 24)
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

        models_dir = app_paths().models_dir
        catalog = load_catalog(app_paths().config_dir)
        self.entry = recommend(catalog, _machine_ram(), disk_free(models_dir))
        if self.entry is None:
            self.recommended.setText("No catalog model fits this machine's memory and disk.")
            self.download_button.setEnabled(False)
            return
        size = (
            f"about {self.entry.size_bytes / 1e9:.1f} GB to download"
            if self.entry.size_bytes
            else "download size not listed"
        )
        self.recommended.setText(
            f"<b>Recommended for this computer:</b> {self.entry.title} — {size}, "
            f"needs about {self.entry.ram_gb:g} GB of memory, license "
            f"{self.entry.license}. Downloads resume if interrupted."
        )
        self.download_button.setEnabled(True)

    def download(self) -> None:
        if self.entry is None or self.job is not None:
            return
        from models.library import pull

        entry = self.entry
        models_dir = app_paths().models_dir

        def work(cancel: threading.Event) -> Iterator[tuple[str, Any]]:
            yield from worker.relay(
                lambda report: pull(
                    entry, models_dir, progress=lambda label, p: report((label, p)), cancel=cancel
                )
            )

        self.download_button.setEnabled(False)
        self.cancel_button.show()
        self.progress.show()
        self.progress.setRange(0, 0)
        self.status.setText(f"Downloading {entry.title}…")
        self.job = worker.start(
            self.window_.io_pool, work, self._on_item, self._on_failed, self._on_finished
        )

    def _on_item(self, item: tuple[str, Any]) -> None:
        kind, value = item
        if kind == "progress":
            label, p = value
            if p.total:
                self.progress.setRange(0, 1000)
                self.progress.setValue(int(1000 * p.done / p.total))
            eta = f", about {int(p.eta_s)} s left" if p.eta_s is not None else ""
            self.status.setText(
                f"{label}: {p.done / 1e6:.0f} of {(p.total or 0) / 1e6:.0f} MB, "
                f"{p.rate_bps / 1e6:.1f} MB/s{eta}"
            )
        elif kind == "done":
            self.status.setText(f"Installed {value.qualified_name}.")
            self.window_.refresh_models()
            self.window_._show_welcome_if_needed()

    def _on_failed(self, exc: BaseException) -> None:
        from desktop.messages import describe_error

        self.status.setText(describe_error(exc).text)

    def _on_finished(self) -> None:
        self.job = None
        self.cancel_button.hide()
        self.progress.hide()
        self.download_button.setEnabled(True)

    def cancel(self) -> None:
        if self.job is not None:
            self.job.stop()
            self.status.setText("Stopping… the part already downloaded is kept for next time.")

    def import_files(self) -> None:
        text, _ = QFileDialog.getOpenFileName(
            self, "Text model (GGUF)", str(Path.home()), "GGUF (*.gguf)"
        )
        if not text:
            return
        mmproj, _ = QFileDialog.getOpenFileName(
            self, "Vision projector (mmproj GGUF)", str(Path(text).parent), "GGUF (*.gguf)"
        )
        self.import_pair(Path(text), Path(mmproj) if mmproj else None)

    def import_pair(self, text: Path, mmproj: Path | None) -> worker.Job:
        from models.library import import_model

        def work(cancel: threading.Event) -> Iterator[tuple[str, Any]]:
            yield ("done", import_model(text, mmproj, app_paths().models_dir))

        self.status.setText(f"Importing {text.name}…")
        return worker.start(self.window_.io_pool, work, self._on_item, self._on_failed)

    def use_ollama(self) -> None:
        current = self.window_.settings.effective_ollama_host()
        host, ok = QInputDialog.getText(self, "Use Ollama", "Ollama address:", text=current)
        if ok and host.strip():
            self.window_.settings.ollama_host = host.strip()
            save_settings(self.window_.settings)
            self.status.setText(f"Looking for models on {host.strip()}…")
            self.window_.refresh_models()
