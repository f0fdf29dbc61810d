"""Which model answers: the picker, the cloud fallback, and managing the models beside them.

Installed models are listed at once; Ollama, an OpenAI-compatible server
and keyed cloud models join when their probe answers (every probe has a
timeout, and a configured server that does not answer is said so).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QThreadPool, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QMenu,
    QMessageBox,
    QToolButton,
    QWidget,
)

from desktop.cloud_policy import is_cloud
from desktop.messages import describe_error
from desktop.model_choice import installed_models, preferred_index, remote_models
from desktop.paths import app_paths
from desktop.settings import Settings, save_settings
from desktop.ui import worker
from desktop.ui.import_dialog import ask_model_files
from models.entry import ModelEntry

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RemoteListing:
    entries: list[ModelEntry]
    problems: list[str]


class ModelPicker(QWidget):
    picked = Signal()
    models_changed = Signal()
    probe_failed = Signal(str)
    installed = Signal(str)
    """The qualified name of a model just imported from the window."""
    failed = Signal(object)

    def __init__(self, settings: Settings, pool: QThreadPool) -> None:
        super().__init__()
        self.settings = settings
        self.pool = pool
        self.jobs = worker.Jobs()
        self.models: list[ModelEntry] = []
        self.probing = False
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.combo = QComboBox()
        self.combo.setAccessibleName("Model")
        self.combo.setMinimumWidth(160)
        self.combo.setMaximumWidth(380)
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.combo.setMinimumContentsLength(18)
        self.combo.currentIndexChanged.connect(lambda _i: self.picked.emit())
        row.addWidget(self.combo, 1)
        self.manage = QToolButton()
        self.manage.setText("Models")
        self.manage.setToolTip("Set default, remove, refresh or import models")
        self.manage.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu = QMenu(self.manage)
        self.menu.addAction("Set as default", self.set_default)
        self.menu.addAction("Remove…", self.ask_remove)
        self.menu.addAction("Refresh", self.refresh)
        self.menu.addAction("Import GGUF…", self.ask_import)
        self.manage.setMenu(self.menu)
        row.addWidget(self.manage)
        self.cloud_fallback = QCheckBox("Cloud fallback")
        self.cloud_fallback.setToolTip(
            "For this conversation: when no local model can answer (none installed, or images "
            "for a text-only model), ask a cloud model you have a key for. Off by default."
        )
        row.addWidget(self.cloud_fallback)

    # -- listing -------------------------------------------------------------------

    def refresh(self) -> None:
        """Local models at once; Ollama and OpenAI-compatible servers when they answer."""
        self.list_installed()
        self.probe()

    def list_installed(self) -> None:
        self.models = installed_models(self.settings)
        self._fill()
        self.models_changed.emit()

    def probe(self) -> None:
        """Ask the servers, and the keychain for cloud keys, on the I/O pool."""
        settings = self.settings

        def work(_cancel: threading.Event) -> RemoteListing:
            from desktop.cloud_models import keyed_cloud_models

            problems: list[str] = []
            found = remote_models(settings, problems.append) + keyed_cloud_models()
            return RemoteListing(found, problems)

        self.probing = True
        self.jobs.track(worker.call(self.pool, work, self._listed, self._list_failed))

    def _listed(self, listing: RemoteListing) -> None:
        self.probing = False
        for problem in listing.problems:
            self.probe_failed.emit(problem)
        self.models = installed_models(self.settings) + listing.entries
        self._fill()
        self.models_changed.emit()

    def _list_failed(self, exc: BaseException) -> None:
        self.probing = False
        _log.warning("listing Ollama, server and cloud models failed", exc_info=exc)
        self.probe_failed.emit(describe_error(exc).text)
        self.models_changed.emit()

    def _fill(self) -> None:
        wanted = self.current_label() or self.settings.default_model
        self.combo.blockSignals(True)
        self.combo.clear()
        for entry in self.models:
            badge = "  [vision]" if entry.vision else "  [text only]"
            if is_cloud(entry.backend):
                badge += "  [cloud]"
            if entry.qualified_name == self.settings.default_model:
                badge += "  ★"
            self.combo.addItem(entry.qualified_name + badge, entry.qualified_name)
        self.combo.setCurrentIndex(preferred_index(self.models, wanted))
        self.combo.blockSignals(False)

    def current_label(self) -> str | None:
        data = self.combo.currentData()
        return str(data) if data else None

    def current_entry(self) -> ModelEntry | None:
        label = self.current_label()
        return next((e for e in self.models if e.qualified_name == label), None)

    def select(self, qualified_name: str) -> None:
        index = self.combo.findData(qualified_name)
        if index >= 0:
            self.combo.setCurrentIndex(index)

    def cloud_vision_entry(self) -> ModelEntry | None:
        return next((e for e in self.models if is_cloud(e.backend) and e.vision), None)

    # -- managing ------------------------------------------------------------------

    def set_default(self) -> None:
        label = self.current_label()
        if label is None:
            return
        self.settings.default_model = label
        save_settings(self.settings)
        self._fill()

    def ask_remove(self) -> None:
        entry = self.current_entry()
        if entry is None or entry.backend != "embedded":
            QMessageBox.information(
                self, "Remove model", "Only models installed in Sightline's library can be removed."
            )
            return
        answer = QMessageBox.question(
            self,
            "Remove model",
            f"Remove {entry.name} and its files from this computer?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.remove(entry.name)

    def remove(self, name: str) -> worker.CallJob:
        from models.library import remove

        models_dir = app_paths().models_dir
        return self.jobs.track(
            worker.call(
                self.pool,
                lambda _c: remove(name, models_dir),
                lambda _path: self.refresh(),
                self.failed.emit,
            )
        )

    def ask_import(self) -> None:
        chosen = ask_model_files(self)
        if chosen is not None:
            self.import_pair(*chosen)

    def import_pair(self, text: Path, mmproj: Path | None, name: str) -> worker.CallJob:
        from models.library import import_model

        models_dir = app_paths().models_dir

        def done(entry: ModelEntry) -> None:
            self.refresh()
            self.select(entry.qualified_name)
            self.installed.emit(entry.qualified_name)

        return self.jobs.track(
            worker.call(
                self.pool,
                lambda _c: import_model(text, mmproj, models_dir, name=name),
                done,
                self.failed.emit,
            )
        )
