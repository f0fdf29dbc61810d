"""Starting the window: one instance per user, files handed over, the theme applied."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication, QWidget

from desktop.ui import single_instance

if TYPE_CHECKING:
    from desktop.model_host import ModelHost
    from desktop.popup_answer import EarlyAnswer
    from desktop.settings import Settings
    from desktop.ui.main_window import MainWindow


class FileOpenFilter(QObject):
    """macOS: Finder hands files to a running app (Open With, a drop on the Dock icon, the
    first launch with a document) as ``QFileOpenEvent``s, never in argv."""

    def __init__(self, handler: Callable[[str, list[str]], None]) -> None:
        super().__init__()
        self._handler = handler

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.FileOpen or not isinstance(event, QFileOpenEvent):
            return False
        if event.file():
            self._handler("open", [event.file()])
        return True


# Explorer starts one process per selected file (MultiSelectModel=Player); they arrive
# within a moment of each other, so the first instance waits this long to gather them.
# Other file managers pass the whole selection in one call, so there is nothing to wait for.
GATHER_MS = 400 if sys.platform == "win32" else 0


class PopupGatherer(QObject):
    """Collects popup requests arriving within ``window_ms`` into one batch."""

    def __init__(self, show: Callable[[list[str]], None], window_ms: int = GATHER_MS) -> None:
        super().__init__()
        self._show = show
        self._pending: list[str] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(window_ms)
        self._timer.timeout.connect(self._flush)
        self._window_ms = window_ms

    def add(self, paths: list[str]) -> None:
        self._pending += [p for p in paths if p not in self._pending]
        if self._window_ms <= 0:
            self._flush()
        elif not self._timer.isActive():
            self._timer.start()

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if batch:
            self._show(batch)


class LaterWindow:
    """The main window, built the first time something asks for it.

    A cold right-click shows its popup first and asks for the window once the
    answer is done: building it takes a few hundred milliseconds of processor
    that reading the image, loading the model and encoding it would share.
    The model thread exists from the start, since the popup's answer runs on it.
    """

    def __init__(self, settings: Settings, host: ModelHost, parent: QObject) -> None:
        from desktop.ui.worker import model_thread

        self.model_pool = model_thread(parent)
        self._settings = settings
        self._host = host
        self._window: MainWindow | None = None

    def window(self) -> MainWindow:
        if self._window is None:
            from desktop.ui.companions import start_tray
            from desktop.ui.main_window import MainWindow

            self._window = MainWindow(self._settings, self._host, self.model_pool)
            start_tray(self._window)
        return self._window


def run(
    files: list[str],
    popup: bool = False,
    *,
    settings: Settings | None = None,
    host: ModelHost | None = None,
    early: EarlyAnswer | None = None,
) -> int:
    """The window, or a popup with the window behind it; ``early`` is a right-click's answer
    already started on ``host`` (see ``desktop.popup_answer``)."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Sightline")
    app.setDesktopFileName("sightline")
    absolute = [str(Path(f).resolve()) for f in files]
    if single_instance.forward("popup" if popup else "open", absolute):
        if early is not None:
            early.stop()  # a window started meanwhile: it answers instead
        return 0
    # Only the first instance needs the window: a right-click on a running Sightline hands
    # its file over without loading the window's modules (the popup starts sooner).
    from desktop.model_host import ModelHost
    from desktop.settings import load_settings
    from desktop.ui import theme, worker

    settings = load_settings() if settings is None else settings
    host = ModelHost() if host is None else host
    theme.apply(app, settings.theme)
    later = LaterWindow(settings, host, app)
    if early is None:
        later.window()  # nothing is answering yet: the window at once
    popups: list[QWidget] = []

    def show_popup(paths: list[str]) -> None:
        """One file: the popup. Several (a multi-selection): one batch view describing each."""
        from desktop.ui.popup import PopupWindow

        nonlocal early
        started, early = early, None  # the early answer is for the first popup only
        if started is not None and [started.request.path] != [Path(p) for p in paths]:
            # More files were gathered than the answer started for: it is not wanted, and it
            # holds the model until it has stopped, so it stops on the model thread first.
            worker.stream(later.model_pool, started.relay).stop()
            started = None
        if len(paths) > 1:
            from desktop.ui.describe_each import describe_each  # the batch runner: not for one

            describe_each(later.window(), paths)
            return
        view = PopupWindow(later, Path(paths[0]), started)
        if started is not None:
            view.settled.connect(later.window)  # built once the answer is done
        popups.append(view)
        view.show()
        view.raise_()

    gatherer = PopupGatherer(show_popup)

    def handle(action: str, paths: list[str]) -> None:
        if action == "popup":
            gatherer.add(paths)
            return
        window = later.window()
        window.show()
        window.raise_()
        window.activateWindow()
        if paths:
            window.attach_files(paths)

    server = single_instance.InstanceServer(handle)
    file_open = FileOpenFilter(handle)
    app.installEventFilter(file_open)
    handle("popup" if popup else "open", absolute)
    code = app.exec()
    app.removeEventFilter(file_open)
    server.close()
    return code
