"""Starting the window: one instance per user, files handed over, the theme applied."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication, QWidget

from desktop.ui import single_instance


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


def run(files: list[str], popup: bool = False) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Sightline")
    app.setDesktopFileName("sightline")
    absolute = [str(Path(f).resolve()) for f in files]
    if single_instance.forward("popup" if popup else "open", absolute):
        return 0
    # Only the first instance needs the window: a right-click on a running Sightline hands
    # its file over without loading the window's modules (the popup starts sooner).
    from desktop.settings import load_settings
    from desktop.ui import theme
    from desktop.ui.main_window import MainWindow

    settings = load_settings()
    theme.apply(app, settings.theme)
    window = MainWindow(settings)
    popups: list[QWidget] = []

    def handle(action: str, paths: list[str]) -> None:
        if action == "popup":
            from desktop.ui.popup import PopupWindow

            for path in paths:
                view = PopupWindow(window, Path(path))
                popups.append(view)
                view.show()
                view.raise_()
            return
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
