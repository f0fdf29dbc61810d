"""Settings: what config.toml holds, editable. Secrets are not here: they live in the keychain."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QWidget,
)

from desktop.keys import ENV_VARS, delete_key, key_source, set_key
from desktop.paths import app_paths
from desktop.settings import Settings, save_settings
from models.cloud.limits import PROVIDERS, Provider
from models.errors import SightlineError


def _spin(value: int, low: int, high: int, step: int = 1) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setValue(value)
    return box


class SettingsDialog(QDialog):
    def __init__(
        self, settings: Settings, models: list[str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.saved = settings
        form = QFormLayout(self)
        self.default_model = QComboBox()
        self.default_model.addItem("(none)", None)
        for name in models:
            self.default_model.addItem(name, name)
        index = self.default_model.findData(settings.default_model)
        self.default_model.setCurrentIndex(max(index, 0))
        form.addRow("Default model", self.default_model)
        self.ollama = QLineEdit(settings.ollama_host or "")
        self.ollama.setPlaceholderText(settings.effective_ollama_host())
        form.addRow("Ollama host", self.ollama)
        self.compat = QLineEdit(settings.openai_compat_url or "")
        self.compat.setPlaceholderText("http://127.0.0.1:1234/v1")
        form.addRow("OpenAI-compatible server", self.compat)
        self.threads = _spin(settings.n_threads or 0, 0, 256)
        self.threads.setSpecialValueText("automatic")
        form.addRow("CPU threads", self.threads)
        self.gpu_layers = _spin(settings.n_gpu_layers, 0, 999)
        form.addRow("GPU layers", self.gpu_layers)
        self.n_ctx = _spin(settings.n_ctx, 512, 131072, 512)
        form.addRow("Context size (tokens)", self.n_ctx)
        self.max_side = _spin(settings.max_image_side, 224, 4096, 32)
        form.addRow("Largest image side (px)", self.max_side)
        self.answer_tokens = _spin(settings.answer_tokens, 16, 32768, 256)
        form.addRow("Longest answer (tokens)", self.answer_tokens)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(-0.1, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setSpecialValueText("model default (0, sampled anew on Regenerate)")
        self.temperature.setValue(-0.1 if settings.temperature is None else settings.temperature)
        form.addRow("Temperature", self.temperature)
        location = QLabel(f"{app_paths().data_dir}\n(set SIGHTLINE_HOME to move everything)")
        location.setWordWrap(True)
        form.addRow("Data location", location)
        self.theme = QComboBox()
        for label, value in (("Follow the system", "system"), ("Light", "light"), ("Dark", "dark")):
            self.theme.addItem(label, value)
        self.theme.setCurrentIndex(max(self.theme.findData(settings.theme), 0))
        form.addRow("Theme", self.theme)
        self.allow_cloud = QCheckBox("Allow cloud models from the command line (allow_cloud)")
        self.allow_cloud.setChecked(settings.allow_cloud)
        form.addRow("Cloud", self.allow_cloud)
        self.cache_answers = QCheckBox("Reuse the answer to any repeated question")
        self.cache_answers.setChecked(settings.cache_answers)
        form.addRow("Answer cache", self.cache_answers)
        for provider in PROVIDERS:
            form.addRow(f"{provider.capitalize()} key", self._key_row(provider))
        self.form = form
        self.panels_at = form.rowCount()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def add_panel(self, title: str, panel: QWidget) -> None:
        """A section contributed by another part of the app, above the buttons."""
        self.form.insertRow(self.panels_at, title, panel)
        self.panels_at += 1

    def _key_row(self, provider: Provider) -> QWidget:
        """Keys go to the OS keychain only; this shows where one is, never the key."""
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        status = QLabel()
        layout.addWidget(status, 1)

        def refresh() -> None:
            source = key_source(provider)
            status.setText(
                {
                    "keychain": "in the OS keychain",
                    "environment": f"from {ENV_VARS[provider]}",
                    "session": "for this session only (no OS keychain)",
                }.get(source or "", "not set")
            )

        def set_one() -> None:
            key, ok = QInputDialog.getText(
                self,
                f"{provider.capitalize()} API key",
                "Key (stored in the OS keychain):",
                QLineEdit.EchoMode.Password,
            )
            if ok and key.strip():
                try:
                    stored = set_key(provider, key.strip())
                except SightlineError as exc:
                    QMessageBox.warning(self, "Key not saved", str(exc))
                    return
                if stored.notice:
                    QMessageBox.information(self, "Key kept for this session", stored.notice)
                refresh()

        def delete_one() -> None:
            delete_key(provider)
            refresh()

        for label, action in (("Set…", set_one), ("Delete", delete_one)):
            button = QPushButton(label)
            button.clicked.connect(action)
            layout.addWidget(button)
        refresh()
        return row

    def save(self) -> None:
        self.saved = replace(
            self.saved,
            default_model=self.default_model.currentData(),
            ollama_host=self.ollama.text().strip() or None,
            openai_compat_url=self.compat.text().strip() or None,
            n_threads=self.threads.value() or None,
            n_gpu_layers=self.gpu_layers.value(),
            n_ctx=self.n_ctx.value(),
            max_image_side=self.max_side.value(),
            theme=str(self.theme.currentData()),
            allow_cloud=self.allow_cloud.isChecked(),
            cache_answers=self.cache_answers.isChecked(),
            answer_tokens=self.answer_tokens.value(),
            temperature=None if self.temperature.value() < 0 else self.temperature.value(),
        )
        save_settings(self.saved)
        self.accept()
