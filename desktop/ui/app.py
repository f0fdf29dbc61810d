"""Starting the window: one instance per user, files handed over, the theme applied."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication, QWidget

from desktop.settings import load_settings
from desktop.ui import single_instance, theme
from desktop.ui.main_window import MainWindow


def run(files: list[str], popup: bool = False) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Sightline")
    app.setDesktopFileName("sightline")
    absolute = [str(Path(f).resolve()) for f in files]
    if single_instance.forward("popup" if popup else "open", absolute):
        return 0
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
    handle("popup" if popup else "open", absolute)
    code = app.exec()
    server.close()
    return code
