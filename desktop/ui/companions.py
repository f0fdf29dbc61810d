"""What lives beside the window: the disk watcher, Settings sections, the tray.

The window assembles its own parts; these are the pieces that connect it to
the rest of the desktop — other processes writing the same files, the file
manager's right-click entry, saved conversation states, the tray icon and
the global capture shortcut. They are wired here, each in one place, so the
window stays one job.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QThreadPool, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QKeySequenceEdit,
    QLabel,
    QPushButton,
    QWidget,
)

from desktop.model_choice import ModelChoice, choice_for
from desktop.paths import app_paths
from desktop.settings import load_settings, save_settings
from desktop.ui import worker
from desktop.ui.disk_watch import DiskWatcher
from models.errors import SightlineError

if TYPE_CHECKING:
    from desktop.ui.integration_panel import IntegrationPanel
    from desktop.ui.tray import TrayController

MainWindow = Any
"""The window (not imported: it imports this module; chrome.py does the same)."""


class SavedStatesPanel(QWidget):
    """How much disk the saved conversation states take, with a button that clears them."""

    def __init__(self, pool: QThreadPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pool = pool
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.size_label = QLabel("Measuring…")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip(
            "Forget saved conversation states: reopened conversations are evaluated again"
        )
        self.clear_button.clicked.connect(self.clear)
        layout.addWidget(self.size_label, 1)
        layout.addWidget(self.clear_button)
        self.job: worker.CallJob | None = None
        self._run(lambda _cancel: _states_size())

    def _run(self, work: Callable[[threading.Event], int]) -> None:
        self.clear_button.setEnabled(False)
        self.job = worker.call(self.pool, work, self._show, self._failed)

    def clear(self) -> None:
        def work(_cancel: threading.Event) -> int:
            from models.llamacpp.kv_states import clear_folder

            clear_folder(app_paths().states_dir)
            return _states_size()

        self._run(work)

    def _show(self, size: int) -> None:
        self.size_label.setText(f"{size / 1e6:.1f} MB on disk" if size else "None saved")
        self.clear_button.setEnabled(size > 0)

    def _failed(self, exc: BaseException) -> None:
        self.size_label.setText(f"Could not read the saved states ({exc})")


def _states_size() -> int:
    """Measured on the I/O pool, where the saved-states code loads (it is no part of the start)."""
    from models.llamacpp.kv_states import folder_size

    return folder_size(app_paths().states_dir)


def _integration_panel(window: MainWindow) -> IntegrationPanel:
    """Loaded when Settings opens: the file-manager installers are no part of the start."""
    from desktop.ui.integration_panel import IntegrationPanel

    return IntegrationPanel(pool=window.io_pool)


class ShortcutPanel(QWidget):
    """The global capture shortcut: changed at once, saved, and said when it cannot be taken."""

    def __init__(self, window: MainWindow, tray: TrayController) -> None:
        super().__init__()
        self.window_, self.tray = window, tray
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = QKeySequenceEdit(QKeySequence(window.settings.capture_shortcut))
        self.edit.setClearButtonEnabled(True)
        self.edit.editingFinished.connect(self.apply)
        self.state = QLabel()
        layout.addWidget(self.edit)
        layout.addWidget(self.state, 1)

    def apply(self) -> None:
        sequence = self.edit.keySequence().toString()
        why = self.tray.set_shortcut(sequence or None)
        self.state.setText(why or ("On" if sequence else "Off"))
        settings = self.window_.settings
        settings.capture_shortcut = sequence
        save_settings(settings)


def attach(window: MainWindow) -> DiskWatcher:
    """Keep the window current with the disk, and give Settings its extra sections."""
    app_paths().ensure()  # a folder that does not exist yet cannot be watched
    watcher = DiskWatcher(window)

    def while_open(refresh: Callable[[], None]) -> Callable[[], None]:
        """A change noticed after the window closed has nothing left to refresh."""
        return lambda: None if window.closed else refresh()

    def reload_settings() -> None:
        try:
            window.apply_settings(load_settings())
        except SightlineError as exc:
            window.show_error(exc)

    watcher.settings_changed.connect(while_open(reload_settings))
    watcher.models_changed.connect(while_open(window.picker.refresh))
    watcher.history_changed.connect(while_open(window.sidebar.refresh))
    window.settings_panels.append(lambda: ("File manager", _integration_panel(window)))
    window.settings_panels.append(lambda: ("Saved conversations", SavedStatesPanel(window.io_pool)))
    QTimer.singleShot(0, lambda: _offer_file_manager(window))
    return watcher


def _offer_file_manager(window: MainWindow) -> None:
    """Asked once the window is up: the integration's code is no part of the start."""
    from desktop.integrate.launcher import is_packaged

    if window.closed or window.settings.file_manager_offered or not is_packaged():
        return
    from desktop.ui.file_manager_offer import FileManagerOffer

    FileManagerOffer(window)  # a child of the window, which keeps it


def start_tray(window: MainWindow) -> TrayController:
    """The tray icon and the global capture shortcut, for the running app (not for tests)."""
    from desktop.ui.screen_actions import ScreenActions
    from desktop.ui.tray import TrayController

    tray = TrayController(window.settings.capture_shortcut or None, window)
    for problem in tray.start():
        window.banner.show_message(problem, "notice", "tray")

    def current_choice() -> ModelChoice | None:
        entry = window.current_entry()
        return choice_for(entry) if entry is not None else None

    actions = ScreenActions(tray, window.host, window.model_pool, current_choice, window.settings)

    def captured(png: bytes, label: str) -> None:
        window.show()
        window.raise_()
        window.new_chat()
        window.attachments.attach_image_bytes(png, label)

    actions.image_captured.connect(captured)
    actions.failed.connect(lambda text: window.banner.show_message(text, "error"))
    window.settings_panels.append(lambda: ("Capture shortcut", ShortcutPanel(window, tray)))
    tray.new_chat_requested.connect(window.new_chat)
    tray.show_requested.connect(window.show)
    tray.quit_requested.connect(QApplication.quit)
    return tray
